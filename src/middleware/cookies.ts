/**
 * req.cookies and req.signedCookies, worked out only when a route reads them.
 *
 * cookie-parser did this for every request, before any route: it parsed every cookie and checked
 * the signature of every signed one with an HMAC keyed from the secret string each time. The
 * session cookie is signed, so it was verified twice per request (once there, once by
 * session/cookie.ts, which reads it itself). Here:
 *
 *   req.cookies        parsed on first read (no HMAC: which values are signed shows in their "s:")
 *   req.signedCookies  each signed cookie verified on first read of *that* cookie
 *
 * A request that reads neither (most of them: the session reads its own cookie) parses nothing; the
 * flash and pre-session cookies are looked up by name and cost no HMAC for the session's cookie.
 * The values are exactly cookie-parser's, computed with its own functions and the very `cookie`
 * parser it uses (cookies.test.ts compares the two on awkward headers).
 */
import { createRequire } from "node:module";
import cookieParser from "cookie-parser";
import type { Request, RequestHandler } from "express";

const require = createRequire(import.meta.url);
/** The `cookie` package cookie-parser itself resolves, so the parse cannot drift from it. */
const { parse } = createRequire(require.resolve("cookie-parser"))("cookie") as { parse(header: string): Record<string, string> };

type Jar = Record<string, unknown>;

/** cookie-parser's JSONCookies, one value: "j:…" becomes its JSON when that parses to something truthy. */
const json = (value: unknown) => cookieParser.JSONCookie(value as string) || value;

export function lazyCookies(secrets: readonly string[]): RequestHandler {
  const keys = [...secrets];

  /** What cookie-parser would have put in req.cookies and req.signedCookies, its own way. */
  const parseAll = (header: string | undefined) => {
    const signed: Jar = Object.create(null);
    if (!header) return { cookies: Object.create(null) as Jar, signed };
    const cookies: Jar = parse(header); // a plain object, as cookie-parser's is
    for (const [name, value] of Object.entries(cookies)) {
      // cookie-parser moves every "s:" value out of req.cookies, valid or not (when it has secrets).
      if (keys.length === 0 || typeof value !== "string" || !value.startsWith("s:")) {
        cookies[name] = json(value);
        continue;
      }
      delete cookies[name];
      // Verified when this one cookie is read, then kept: the value, its JSON, or false for a bad signature.
      Object.defineProperty(signed, name, {
        configurable: true,
        enumerable: true,
        get() {
          const verified = json(cookieParser.signedCookie(value, keys));
          Object.defineProperty(signed, name, { value: verified, configurable: true, enumerable: true, writable: true });
          return verified;
        },
      });
    }
    return { cookies, signed };
  };

  return (req, _res, next) => {
    if (req.cookies) return next(); // as cookie-parser: someone parsed them already
    (req as Request & { secret?: string }).secret = keys[0]; // res.cookie(…, { signed: true }) signs with it (flash.ts)
    let jars: { cookies: Jar; signed: Jar } | undefined;
    const jar = () => (jars ??= parseAll(req.headers.cookie));
    for (const [property, pick] of [
      ["cookies", () => jar().cookies],
      ["signedCookies", () => jar().signed],
    ] as const) {
      let assigned: unknown;
      let set = false;
      Object.defineProperty(req, property, {
        configurable: true,
        enumerable: true,
        get: () => (set ? assigned : pick()),
        set(value: unknown) {
          assigned = value;
          set = true;
        },
      });
    }
    next();
  };
}
