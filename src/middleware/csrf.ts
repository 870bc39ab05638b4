/**
 * CSRF protection for every state-changing request (everything but GET/HEAD/OPTIONS), in two layers:
 *
 * 1. Where the request came from. Browsers label every request with Sec-Fetch-Site and send
 *    Origin on POSTs; a form on another site posting here says "cross-site" / a foreign origin.
 * 2. A synchronizer token tied to the session: HMAC(secret, session ID), embedded in every form.
 *    Another site can make the browser send our cookie, but cannot read our pages to learn the token.
 *    It needs no storage, and it dies with the session ID (login regenerates the ID, so a token
 *    seen before login is useless after it).
 *
 * A visitor without a session has nothing to steal yet; layer 1 still applies (it stops login CSRF).
 *
 * Pages are compressed (gzip/brotli), and some reflect what the visitor typed (the search box).
 * A secret that is the same on every page, next to attacker-chosen text, leaks through the
 * compressed length (BREACH). So each page carries the token masked with fresh random bytes:
 * pad ‖ (pad XOR token). Every page shows different bytes; the server unmasks and compares.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpError } from "../errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const forbidden = () =>
  new HttpError(403, "This form was out of date or was sent from another site, so we ignored it. Go back, reload the page and try again.", "Request refused");

/** scheme://host[:port] with default ports dropped, or null when it is not a URL. */
const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

export function createCsrf(secrets: readonly string[]) {
  const sign = (secret: string, sessionId: string) => createHmac("sha256", secret).update(`csrf:${sessionId}`).digest();

  /** A fresh masking of the session's token: different on every page, valid for the whole session. */
  const tokenFor = (sessionId: string) => {
    const token = sign(secrets[0]!, sessionId);
    const pad = randomBytes(token.length);
    const masked = Buffer.alloc(token.length);
    for (let i = 0; i < token.length; i++) masked[i] = token[i]! ^ pad[i]!;
    return Buffer.concat([pad, masked]).toString("base64url");
  };

  const isValid = (sessionId: string, token: unknown) => {
    if (typeof token !== "string" || token.length === 0) return false;
    const raw = Buffer.from(token, "base64url");
    const half = raw.length / 2;
    if (half !== 32) return false;
    const given = Buffer.alloc(half);
    for (let i = 0; i < half; i++) given[i] = raw[i]! ^ raw[half + i]!;
    // Every secret verifies, so rotating secrets does not break forms already on screen.
    return secrets.some((secret) => timingSafeEqual(sign(secret, sessionId), given));
  };

  const protect: RequestHandler = (req, res, next) => {
    res.locals.csrfToken = req.session.id ? tokenFor(req.session.id) : "";
    if (SAFE_METHODS.has(req.method)) return next();

    const site = req.get("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") throw forbidden();
    const origin = req.get("origin");
    if (origin !== undefined) {
      // The whole origin, not just the host: http://shop.example is another origin than
      // https://shop.example (anyone on the network can answer for the plain one). req.protocol
      // and req.host honour X-Forwarded-Proto/-Host when TRUST_PROXY is set, so this works behind a proxy.
      const sender = originOf(origin); // "null" or garbage: null, foreign
      if (sender === null || sender !== originOf(`${req.protocol}://${req.host}`)) throw forbidden();
    }

    if (req.session.id) {
      const body = req.body as Record<string, unknown> | undefined;
      if (!isValid(req.session.id, body?._csrf ?? req.get("x-csrf-token"))) throw forbidden();
    }
    next();
  };

  return { protect, tokenFor };
}
