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
 * Pages over 12 KB are compressed (gzip/brotli, compress.ts), and some reflect what the visitor typed
 * (the search box).
 * A secret that is the same on every page, next to attacker-chosen text, leaks through the
 * compressed length (BREACH). So each page carries the token masked with fresh random bytes:
 * pad ‖ (pad XOR token). Every page shows different bytes; the server unmasks and compares.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpError } from "../errors.ts";
import { cookieAttributes } from "../session/cookie.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export const forbidden = () =>
  new HttpError(403, "This form was out of date or was sent from another site, so we ignored it. Go back, reload the page and try again.", "Request refused");

/** scheme://host[:port] with default ports dropped, or null when it is not a URL. */
const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/** The forms a visitor without a session posts that must not be forgeable: they sign someone in (notices.ts uses the list too). */
export const SIGN_IN_FORMS = new Set(["/login", "/register", "/instructor/login"]);

export function createCsrf(secrets: readonly string[], options: { cookieSecure: boolean }) {
  // A pre-session cookie: a random nonce the sign-in and registration forms' token is tied to, so
  // those posts carry a token too before any session exists (a signed double-submit). It is not a
  // session — no row, nothing stored — and it is dropped once there is a session.
  const preName = options.cookieSecure ? "__Host-shop_presession" : "shop_presession";
  const preAttributes = cookieAttributes(options.cookieSecure);

  const sign = (secret: string, subject: string) => createHmac("sha256", secret).update(`csrf:${subject}`).digest();

  /** A fresh masking of the token for `subject`: different on every page, valid as long as the subject. */
  const tokenFor = (subject: string) => {
    const token = sign(secrets[0]!, subject);
    const pad = randomBytes(token.length);
    const masked = Buffer.alloc(token.length);
    for (let i = 0; i < token.length; i++) masked[i] = token[i]! ^ pad[i]!;
    return Buffer.concat([pad, masked]).toString("base64url");
  };

  const isValid = (subject: string, token: unknown) => {
    if (typeof token !== "string" || token.length === 0) return false;
    const raw = Buffer.from(token, "base64url");
    const half = raw.length / 2;
    if (half !== 32) return false;
    const given = Buffer.alloc(half);
    for (let i = 0; i < half; i++) given[i] = raw[i]! ^ raw[half + i]!;
    // Every secret verifies, so rotating secrets does not break forms already on screen.
    return secrets.some((secret) => timingSafeEqual(sign(secret, subject), given));
  };

  const NONCE = /^[\w-]{43}$/;

  const protect: RequestHandler = (req, res, next) => {
    // (Only a header that names the cookie is parsed: most requests carry a session, not this.)
    const nonce: unknown = req.headers.cookie?.includes(preName) ? req.cookies?.[preName] : undefined;
    const pre = typeof nonce === "string" && NONCE.test(nonce) ? `pre:${nonce}` : null;
    if (req.session.id) {
      res.locals.csrfToken = tokenFor(req.session.id);
      if (nonce !== undefined && req.method === "GET") res.clearCookie(preName, preAttributes);
    } else if (pre) {
      res.locals.csrfToken = tokenFor(pre);
    } else if (req.method === "GET" && SIGN_IN_FORMS.has(req.path)) {
      const fresh = randomBytes(32).toString("base64url");
      res.cookie(preName, fresh, preAttributes);
      res.locals.csrfToken = tokenFor(`pre:${fresh}`);
    } else {
      res.locals.csrfToken = "";
    }
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

    const body = req.body as Record<string, unknown> | undefined;
    const token = body?._csrf ?? req.get("x-csrf-token");
    if (req.session.id) {
      if (!isValid(req.session.id, token)) throw forbidden();
    } else if (SIGN_IN_FORMS.has(req.path)) {
      // Signing in must not be forgeable either (login CSRF), even from a client that sends no
      // Origin or Sec-Fetch-Site: the form's token has to fit this browser's pre-session cookie.
      if (pre === null || !isValid(pre, token)) throw forbidden();
    }
    next();
  };

  // isValid is exported for the instructor's pass, which carries a token of its own (classroom/instructor-auth.ts).
  return { protect, tokenFor, isValid };
}
