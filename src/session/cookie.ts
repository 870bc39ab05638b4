/**
 * The session cookie: how the ID travels between browser and server, and nothing else.
 *
 * Signed with the first of SESSION_SECRETS (cookie-parser verifies with all of them), so the
 * server only ever looks up IDs it issued itself. The attributes below are the rest of its security.
 */
import type { CookieOptions, Request, Response } from "express";

export interface SessionCookie {
  readonly name: string;
  readonly attributes: Readonly<CookieOptions>;
  /**
   * The ID the browser sent: a string when our signature holds, false when a cookie of this name
   * is there but its signature does not (tampered, hand-made or planted), undefined when none.
   */
  read(req: Request): string | false | undefined;
  /** Set the cookie; it lives as long as the server-side record would (the server stays the authority). */
  send(res: Response, id: string, expiresAt: number): void;
  /** Tell the browser to forget it (same name, Path and attributes, or it keeps the old one). */
  clear(res: Response): void;
}

export function createSessionCookie(options: { cookieName: string; cookieSecure: boolean }): SessionCookie {
  const name = options.cookieName;
  const attributes: CookieOptions = {
    httpOnly: true, // page scripts cannot read the ID, so an XSS bug cannot simply copy it out
    sameSite: "lax", // not sent on cross-site POSTs; still sent when a link from elsewhere is followed
    secure: options.cookieSecure, // HTTPS only (the __Host- prefix in the name requires it)
    path: "/",
    // No Domain attribute: the cookie goes back to this host only, not to sibling subdomains.
  };
  return {
    name,
    attributes,
    read(req) {
      // cookie-parser gives false for a bad signature. The unsigned req.cookies value is never
      // trusted: a present-but-unsigned cookie is treated exactly like a bad signature.
      const signed: unknown = req.signedCookies?.[name];
      if (typeof signed === "string" || signed === false) return signed;
      return req.cookies?.[name] === undefined ? undefined : false;
    },
    send: (res, id, expiresAt) => res.cookie(name, id, { ...attributes, signed: true, expires: new Date(expiresAt) }),
    clear: (res) => res.clearCookie(name, attributes),
  };
}
