/**
 * The session cookie: how the ID travels between browser and server, and nothing else.
 *
 * Signed with the first of SESSION_SECRETS and verified with all of them (cookie-verifier.ts: the
 * same outcomes as cookie-parser, for this one cookie), so the server only looks up IDs it issued.
 * The attributes below are the rest of its security.
 */
import type { CookieOptions, Request, Response } from "express";
import { createCookieVerifier, readCookie } from "./cookie-verifier.ts";

export interface SessionCookie {
  readonly name: string;
  readonly attributes: Readonly<CookieOptions>;
  /**
   * The ID the browser sent: a string when our signature holds, false when a cookie of this name
   * is there but its signature does not (tampered, hand-made or planted), undefined when none.
   */
  read(req: Request): string | false | undefined;
  /** sha256(id): the store's key (remembered for the IDs this cookie verified or signed). */
  keyOf(id: string): string;
  /** Set the cookie, signed, to live until `expiresAt` (the server stays the authority on expiry). */
  send(res: Response, id: string, expiresAt: number): void;
  /** Tell the browser to forget it (same name, Path and attributes, or it keeps the old one). */
  clear(res: Response): void;
}

export function createSessionCookie(options: { cookieName: string; cookieSecure: boolean; sessionSecrets: readonly string[] }): SessionCookie {
  const name = options.cookieName;
  const attributes: CookieOptions = {
    httpOnly: true, // page scripts cannot read the ID, so an XSS bug cannot simply copy it out
    sameSite: "lax", // not sent on cross-site POSTs; still sent when a link from elsewhere is followed
    secure: options.cookieSecure, // HTTPS only (the __Host- prefix in the name requires it)
    path: "/",
    // No Domain attribute: the cookie goes back to this host only, not to sibling subdomains.
  };
  const verifier = createCookieVerifier(options.sessionSecrets);
  return {
    name,
    attributes,
    read(req) {
      const value = readCookie(req.headers.cookie, name);
      const verified = value === undefined ? undefined : verifier.verify(value); // unsigned counts as a bad signature
      return verified ? verified.id : verified;
    },
    keyOf: (id) => verifier.keyOf(id),
    // The signed value is remembered, so a re-send costs no HMAC. (Express encodes it as res.cookie's signed: true would.)
    send: (res, id, expiresAt) => res.cookie(name, verifier.sign(id), { ...attributes, expires: new Date(expiresAt) }),
    clear: (res) => res.clearCookie(name, attributes),
  };
}
