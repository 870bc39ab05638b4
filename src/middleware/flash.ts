/**
 * One-shot messages shown on the page after a redirect ("Added 2 × Teapot to your cart").
 *
 * They ride in their own small signed cookie, not in the session: showing a message then costs
 * no session write, and a visitor without a session (e.g. after logout) can still get one.
 */
import type { RequestHandler, Response } from "express";

export interface Flash {
  kind: "success" | "error" | "info";
  text: string;
}

export function createFlash(options: { cookieName: string; secure: boolean }) {
  const attributes = { httpOnly: true, sameSite: "lax" as const, secure: options.secure, path: "/" };

  const read: RequestHandler = (req, res, next) => {
    const raw: unknown = req.signedCookies?.[options.cookieName];
    if (raw !== undefined) {
      const f = raw as Partial<Flash> | false;
      if (f && typeof f === "object" && typeof f.text === "string" && ["success", "error", "info"].includes(f.kind as string)) {
        res.locals.flash = { kind: f.kind, text: f.text.slice(0, 300) };
      }
      if (req.method === "GET") res.clearCookie(options.cookieName, attributes);
    }
    next();
  };

  const set = (res: Response, kind: Flash["kind"], text: string) => {
    res.cookie(options.cookieName, { kind, text }, { ...attributes, signed: true, maxAge: 60_000 });
  };

  return { read, set };
}
