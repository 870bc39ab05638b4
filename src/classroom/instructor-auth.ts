/**
 * Who may open the instructor dashboard: the password from INSTRUCTOR_PASSWORD (the dashboard is
 * off without one). A correct password earns a pass, a separate cookie HMAC-signed with its own
 * purpose string so that nothing else the shop signs can pass for it, and timed by the *real*
 * clock: fast-forwarding the demo clock expires the shoppers' sessions, not the instructor's pass.
 * It is not a shop session on purpose: the labs break sessions (fixation, cookie-only logout),
 * and the dashboard must survive them.
 *
 * Like every signed cookie of the shop, the first of SESSION_SECRETS signs and all of them verify:
 * rotating the secrets (new first, old still listed) keeps the instructor signed in, and dropping
 * the old one ends the passes it signed.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";

const PASS_MS = 8 * 3600_000;

export function createInstructorAuth(config: Config, realClock: Clock) {
  const cookieName = config.cookieSecure ? "__Host-shop_instructor" : "shop_instructor";
  const [signingSecret] = config.sessionSecrets;
  const sign = (secret: string, expires: number) => createHmac("sha256", secret).update(`instructor-pass:${expires}`).digest("base64url");
  const attributes = { httpOnly: true, sameSite: "strict" as const, secure: config.cookieSecure, path: "/" };
  const digest = (s: string) => createHash("sha256").update(s).digest();

  const isInstructor = (req: Request): boolean => {
    const value: unknown = req.cookies?.[cookieName];
    if (typeof value !== "string") return false;
    const m = /^(\d{13})\.([\w-]{43})$/.exec(value);
    if (!m) return false;
    const expires = Number(m[1]);
    if (!(expires > realClock.now())) return false;
    const given = Buffer.from(m[2]!);
    // Constant-time per comparison, so the time taken says nothing about how much of a forged signature is right.
    return config.sessionSecrets.some((secret) => {
      const expected = Buffer.from(sign(secret, expires));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  };

  /** Dashboard pages: a 404 with instructions when the dashboard is off, the sign-in page without a pass. */
  const requireInstructor: RequestHandler = (req, res, next) => {
    if (config.instructorPassword === null) {
      res.status(404).render("instructor-off", { title: "Instructor dashboard" });
      return;
    }
    if (isInstructor(req)) return next();
    res.redirect(303, `/instructor/login?next=${encodeURIComponent(req.originalUrl)}`);
  };

  return {
    isInstructor,
    requireInstructor,
    /** Compares digests, so the time taken says nothing about the password's length or prefix. */
    passwordMatches: (given: unknown) =>
      config.instructorPassword !== null && typeof given === "string" && timingSafeEqual(digest(given), digest(config.instructorPassword)),
    grant(res: Response) {
      const expires = realClock.now() + PASS_MS;
      res.cookie(cookieName, `${expires}.${sign(signingSecret!, expires)}`, { ...attributes, expires: new Date(expires) });
    },
    revoke: (res: Response) => res.clearCookie(cookieName, attributes),
  };
}

export type InstructorAuth = ReturnType<typeof createInstructorAuth>;
