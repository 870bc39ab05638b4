/**
 * The session cookie: how the ID travels between browser and server, and nothing else.
 *
 * cookie-parser, given SESSION_SECRETS, parses the Cookie header and checks each signed value's
 * HMAC (cookie-signature) against every secret: the first signs, all verify, so secrets can be
 * rotated. This file reads only `req.signedCookies`, never the unsigned `req.cookies` value, so the
 * server only ever looks up IDs it issued. The attributes below are the rest of its security.
 */
import type { CookieOptions, Request, Response } from "express";
import { hashSessionId } from "./id.ts";

export interface SessionCookie {
  readonly name: string;
  readonly attributes: Readonly<CookieOptions>;
  /**
   * The ID the browser sent: a string when our signature holds, false when a cookie of this name
   * is there but its signature does not (tampered, hand-made, unsigned or planted), undefined when none.
   */
  read(req: Request): string | false | undefined;
  /** sha256(id): the store's key. */
  keyOf(id: string): string;
  /** Set the cookie, signed, to live until `expiresAt` (the server stays the authority on expiry). */
  send(res: Response, id: string, expiresAt: number): void;
  /** Tell the browser to forget it (same name, Path and attributes, or it keeps the old one). */
  clear(res: Response): void;
}

/**
 * How long after its session's absolute end the cookie still arrives. The server enforces both
 * timeouts itself; a cookie that outlives its session lets the shop say why the session ended.
 */
export const NOTICE_GRACE_MS = 3_600_000;

/** The session cookie's attributes: also those of every other cookie the shop sets. */
export const cookieAttributes = (secure: boolean): CookieOptions => ({
  httpOnly: true, // page scripts cannot read the ID, so an XSS bug cannot simply copy it out
  sameSite: "lax", // not sent on cross-site POSTs; still sent when a link from elsewhere is followed
  secure, // HTTPS only (the __Host- prefix in the name requires it)
  path: "/",
  // No Domain attribute: the cookie goes back to this host only, not to sibling subdomains.
});

export function createSessionCookie(options: { cookieName: string; cookieSecure: boolean }): SessionCookie {
  const name = options.cookieName;
  const attributes = cookieAttributes(options.cookieSecure);
  return {
    name,
    attributes,
    read(req) {
      const signed: unknown = req.signedCookies[name];
      if (signed !== undefined) return typeof signed === "string" ? signed : false; // false: a bad signature
      // An unsigned value under our name is never trusted, only reported (and cleared).
      return req.cookies[name] === undefined ? undefined : false;
    },
    keyOf: hashSessionId,
    // signed: true signs with the first secret (req.secret, set by cookie-parser).
    send: (res, id, expiresAt) => res.cookie(name, id, { ...attributes, signed: true, expires: new Date(expiresAt) }),
    clear: (res) => res.clearCookie(name, attributes),
  };
}
