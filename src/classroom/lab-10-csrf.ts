/**
 * Lab 10's "CSRF checks off": a wrapper around the shop's CSRF protection (src/middleware/csrf.ts),
 * which knows nothing about it. Built only when the shop may run vulnerable labs
 * (CLASSROOM_VULNERABLE_LABS=1, refused in production); the mode is read on every request, so the
 * instructor's switch takes effect at once, and with it off every request goes to the honest check.
 *
 * What the mode skips is both layers — where the form came from (Sec-Fetch-Site, Origin) and the
 * token — for the shop's own forms. The instructor's forms keep them: a class must not be able to
 * switch the labs (or anything else on the dashboard) from a forged form.
 */
import type { RequestHandler } from "express";
import type { LabModes } from "./vulnerable-storage.ts";

declare module "../session/types.ts" {
  interface SessionEvents {
    "lab-csrf-unchecked": true;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function withLabCsrf(csrf: { protect: RequestHandler; tokenFor(subject: string): string }, modes: LabModes): RequestHandler {
  return (req, res, next) => {
    if (!modes.csrfChecksOff || SAFE_METHODS.has(req.method) || req.path.startsWith("/instructor")) return csrf.protect(req, res, next);
    // LAB 10 ONLY: accept the form whoever sent it. A page rendered in answer still gets a token for its forms.
    res.locals.csrfToken = req.session.id ? csrf.tokenFor(req.session.id) : "";
    req.session.events.push("lab-csrf-unchecked");
    next();
  };
}
