/**
 * One-shot messages shown on the page after a redirect ("Added 2 × Teapot to your cart").
 *
 * They ride in their own small signed cookie, not in the session: showing a message then costs
 * no session write, and a visitor without a session (e.g. after logout) can still get one.
 */
import type { RequestHandler, Response } from "express";
import { cookieAttributes } from "../session/cookie.ts";

export interface Flash {
  kind: "success" | "error" | "info";
  text: string;
  /** Details listed under the text (e.g. every adjustment of a cart merge). */
  lines?: string[];
}

/** A cookie holds ~4 KB: a long list is cut, and says so. */
const MAX_LINES_SHOWN = 8;

export function createFlash(options: { cookieName: string; secure: boolean }) {
  const attributes = cookieAttributes(options.secure);

  const read: RequestHandler = (req, res, next) => {
    // Most requests carry no flash: then the signed cookies need not be looked at at all.
    const raw: unknown = req.headers.cookie?.includes(options.cookieName) ? req.signedCookies?.[options.cookieName] : undefined;
    if (raw !== undefined) {
      const f = raw as Partial<Flash> | false;
      if (f && typeof f === "object" && typeof f.text === "string" && ["success", "error", "info"].includes(f.kind as string)) {
        const lines = Array.isArray(f.lines) ? f.lines.filter((l): l is string => typeof l === "string").map((l) => l.slice(0, 200)) : [];
        res.locals.flash = { kind: f.kind, text: f.text.slice(0, 300), lines: lines.slice(0, MAX_LINES_SHOWN + 1) };
      }
      if (req.method === "GET") res.clearCookie(options.cookieName, attributes);
    }
    next();
  };

  const set = (res: Response, kind: Flash["kind"], text: string, lines: readonly string[] = []) => {
    const shown =
      lines.length > MAX_LINES_SHOWN + 1 ? [...lines.slice(0, MAX_LINES_SHOWN), `…and ${lines.length - MAX_LINES_SHOWN} more changes.`] : [...lines];
    res.cookie(options.cookieName, shown.length > 0 ? { kind, text, lines: shown } : { kind, text }, { ...attributes, signed: true, maxAge: 60_000 });
  };

  return { read, set };
}
