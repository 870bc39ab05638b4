/**
 * Who may open the instructor dashboard: the password from INSTRUCTOR_PASSWORD (the dashboard is
 * off without one). A correct password earns a pass: a random token in its own cookie, recorded on
 * the server (instructor_passes, by its SHA-256) so that leaving the dashboard ends it everywhere —
 * a copy of the cookie is then worthless — and so that it ends after 30 minutes unused or 8 hours
 * in all (ASVS 5.0 7.4.1, 7.3.1–7.3.2). Both timed by the *real* clock: fast-forwarding the demo
 * clock expires the shoppers' sessions, not the instructor's pass. It is not a shop session on
 * purpose: the labs break sessions (fixation, cookie-only logout), and the dashboard must survive them.
 *
 * The cookie is also HMAC-signed with its own purpose string, so nothing else the shop signs can
 * pass for it and a forged value is refused before the database is asked. Like every signed cookie
 * of the shop, the first of SESSION_SECRETS signs and all of them verify: rotating the secrets
 * (new first, old still listed) keeps the instructor signed in, dropping the old one ends its passes.
 *
 * Every instructor action (sweep, expire, revoke, demo clock, lab switches) also needs the pass's
 * own CSRF token (field `_instructor`): HMAC of the pass token, masked per page like the shop's.
 * The shop's token is tied to a shop session, and the instructor often has none — or has one a
 * lab has broken on purpose (a planted, fixated ID is shared with the "attacker"). SameSite=Strict
 * and the Origin check already stop a foreign form; the token is the layer that does not depend
 * on what the browser chooses to send.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Sql } from "../db/sql.ts";
import { createCsrf, forbidden } from "../middleware/csrf.ts";
import { translatingUnavailable } from "../db/unavailable.ts";

const PASS_MS = 8 * 3600_000;
const IDLE_MS = 30 * 60_000;
/** last_seen_at is written at most once a minute, not on every dashboard refresh. */
const TOUCH_MS = 60_000;

export function createInstructorAuth(config: Config, realClock: Clock, db: Sql) {
  const cookieName = config.cookieSecure ? "__Host-shop_instructor" : "shop_instructor";
  const [signingSecret] = config.sessionSecrets;
  const sign = (secret: string, token: string) => createHmac("sha256", secret).update(`instructor-pass:${token}`).digest("base64url");
  const attributes = { httpOnly: true, sameSite: "strict" as const, secure: config.cookieSecure, path: "/" };
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const keyOf = (token: string) => createHash("sha256").update(token).digest("hex");

  const passes = translatingUnavailable({
    insert: async (key: string, now: number) =>
      void (await db.run("INSERT INTO instructor_passes (id_hash, created_at, last_seen_at) VALUES (?, ?, ?)", [key, now, now])),
    find: (key: string) =>
      db.get<{ created_at: number; last_seen_at: number }>("SELECT created_at, last_seen_at FROM instructor_passes WHERE id_hash = ?", [key]),
    touch: async (key: string, now: number) => void (await db.run("UPDATE instructor_passes SET last_seen_at = ? WHERE id_hash = ?", [now, key])),
    remove: async (key: string) => void (await db.run("DELETE FROM instructor_passes WHERE id_hash = ?", [key])),
    // Ended passes are deleted when met and at every new grant: the table holds a handful of rows.
    removeEnded: async (now: number) =>
      void (await db.run("DELETE FROM instructor_passes WHERE created_at <= ? OR last_seen_at <= ?", [now - PASS_MS, now - IDLE_MS])),
  });

  /** The token of a pass cookie whose signature holds, or null. */
  const tokenOf = (req: Request): string | null => {
    const value: unknown = req.cookies?.[cookieName];
    if (typeof value !== "string") return null;
    const m = /^([\w-]{43})\.([\w-]{43})$/.exec(value);
    if (!m) return null;
    const given = Buffer.from(m[2]!);
    // Constant-time per comparison, so the time taken says nothing about how much of a forged signature is right.
    const signed = config.sessionSecrets.some((secret) => {
      const expected = Buffer.from(sign(secret, m[1]!));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    return signed ? m[1]! : null;
  };

  const isInstructor = async (req: Request): Promise<boolean> => {
    const token = tokenOf(req);
    if (token === null) return false;
    const key = keyOf(token);
    const pass = await passes.find(key);
    if (!pass) return false;
    const now = realClock.now();
    if (now - pass.created_at >= PASS_MS || now - pass.last_seen_at >= IDLE_MS) {
      await passes.remove(key);
      return false;
    }
    if (now - pass.last_seen_at >= TOUCH_MS) await passes.touch(key, now);
    return true;
  };

  // The pass's own CSRF token: stateless (an HMAC of the pass token), dies with the pass.
  const csrf = createCsrf(config.sessionSecrets, { cookieSecure: config.cookieSecure });
  const csrfSubject = (token: string) => `instructor:${token}`;

  /** Dashboard pages: a 404 with instructions when the dashboard is off, the sign-in page without a pass. */
  const requireInstructor: RequestHandler = async (req, res, next) => {
    if (config.instructorPassword === null) {
      res.status(404).render("instructor-off", { title: "Instructor dashboard" });
      return;
    }
    if (!(await isInstructor(req))) return void res.redirect(303, `/instructor/login?next=${encodeURIComponent(req.originalUrl)}`);
    if (req.method !== "GET" && req.method !== "HEAD") {
      const given: unknown = ((req.body ?? {}) as Record<string, unknown>)._instructor;
      // isInstructor held, so the token is there and its signature checks out.
      if (!csrf.isValid(csrfSubject(tokenOf(req)!), given)) throw forbidden();
    }
    next();
  };

  return {
    isInstructor,
    requireInstructor,
    /** For the instructor's forms (views/partials/instructor-csrf.ejs): "" without a pass. */
    csrfToken: (req: Request) => {
      const token = tokenOf(req);
      return token === null ? "" : csrf.tokenFor(csrfSubject(token));
    },
    /** Compares digests, so the time taken says nothing about the password's length or prefix. */
    passwordMatches: (given: unknown) =>
      config.instructorPassword !== null && typeof given === "string" && timingSafeEqual(digest(given), digest(config.instructorPassword)),
    async grant(res: Response) {
      const now = realClock.now();
      await passes.removeEnded(now);
      const token = randomBytes(32).toString("base64url");
      await passes.insert(keyOf(token), now);
      res.cookie(cookieName, `${token}.${sign(signingSecret!, token)}`, { ...attributes, expires: new Date(now + PASS_MS) });
    },
    /** Leaving the dashboard: the pass is deleted on the server (a copy is dead too) and the cookie cleared. */
    async revoke(req: Request, res: Response) {
      const token = tokenOf(req);
      if (token !== null) await passes.remove(keyOf(token));
      res.clearCookie(cookieName, attributes);
    },
  };
}

export type InstructorAuth = ReturnType<typeof createInstructorAuth>;
