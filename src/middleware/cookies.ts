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
 * The session's cookie is verified once, by the session; the flash, pre-session and X-ray cookies
 * cost a parse of the header when read, and no HMAC for the session's cookie. The accessors sit on
 * the app's request prototype (`app.request`), defined once: defining them on every request object
 * cost more than the parse. The values are exactly cookie-parser's, computed with its own functions
 * and the very `cookie` parser it uses (cookies.test.ts compares the two on awkward headers).
 */
import { createRequire } from "node:module";
import cookieParser from "cookie-parser";
import type { IncomingHttpHeaders } from "node:http";

const require = createRequire(import.meta.url);
/** The `cookie` package cookie-parser itself resolves, so the parse cannot drift from it. */
const { parse } = createRequire(require.resolve("cookie-parser"))("cookie") as { parse(header: string): Record<string, string> };

type Jar = Record<string, unknown>;

/** cookie-parser's JSONCookies, one value: "j:…" becomes its JSON when that parses to something truthy. */
const json = (value: unknown) => cookieParser.JSONCookie(value as string) || value;

/** Per request: the header split into the two jars, once, when either is first read. */
const JARS = Symbol("cookie jars");
interface WithJars {
  headers: IncomingHttpHeaders;
  [JARS]?: { cookies: Jar; signed: Jar };
}

/** Give every request of `request` (an Express app's `app.request`) cookie-parser's req.cookies, req.signedCookies and req.secret, lazily. */
export function lazyCookies(request: object, secrets: readonly string[]): void {
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
  const jars = (req: WithJars) => (req[JARS] ??= parseAll(req.headers.cookie));
  // A route that assigns one of them gets an own property, as with cookie-parser's plain fields.
  const own = (req: object, name: string, value: unknown) => Object.defineProperty(req, name, { value, configurable: true, enumerable: true, writable: true });

  Object.defineProperties(request, {
    cookies: {
      configurable: true,
      get(this: WithJars) {
        return jars(this).cookies;
      },
      set(this: WithJars, value: unknown) {
        own(this, "cookies", value);
      },
    },
    signedCookies: {
      configurable: true,
      get(this: WithJars) {
        return jars(this).signed;
      },
      set(this: WithJars, value: unknown) {
        own(this, "signedCookies", value);
      },
    },
    // res.cookie(…, { signed: true }) signs with req.secret (flash.ts), as after cookie-parser.
    secret: { value: keys[0], configurable: true, writable: true },
  });
}
