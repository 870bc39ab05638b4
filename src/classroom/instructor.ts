/**
 * The instructor dashboard (/instructor): every session in the store, live, anonymised; the
 * cleanup job on a button; the demo clock; the lab modes.
 *
 * Access: the password from INSTRUCTOR_PASSWORD (the dashboard is off without one). A correct
 * password earns a separate cookie, HMAC-signed with its own purpose string so that nothing else
 * the shop signs can pass for it, and timed by the *real* clock: fast-forwarding the demo clock
 * expires the shoppers' sessions, not the instructor's pass. It is not a shop session on purpose:
 * the labs break sessions (fixation, cookie-only logout), and the dashboard must survive them.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { rateLimit } from "express-rate-limit";
import { Router, type Request, type RequestHandler, type Response } from "express";
import type { Config } from "../config.ts";
import type { Clock } from "../clock.ts";
import { HttpError, badRequest } from "../errors.ts";
import { fingerprint } from "../session/id.ts";
import type { ListedSession, ServerStore } from "../session/directory.ts";
import type { Technique } from "../session/types.ts";
import type { Classroom, LabModeName } from "./classroom.ts";
import { labModeLabels } from "./classroom.ts";
import { renderHistoryChart } from "./chart.ts";
import { safeLocalPath } from "../middleware/locals.ts";

const PASS_MS = 8 * 3600_000;
const KEY = /^[0-9a-f]{64}$/;

export interface InstructorDeps {
  config: Config;
  classroom: Classroom;
  store: ServerStore | null;
  cleanup: { runOnce(): Promise<{ removed: number } | undefined> } | null;
  technique: Technique;
  realClock: Clock;
  log: { warn(obj: object, msg: string): void };
  flash: { set(res: Response, kind: "success" | "error" | "info", text: string): void };
}

export function createInstructorAuth(config: Config, realClock: Clock) {
  const cookieName = config.cookieSecure ? "__Host-shop_instructor" : "shop_instructor";
  const secret = config.sessionSecrets[0]!;
  const sign = (expires: number) => createHmac("sha256", secret).update(`instructor-pass:${expires}`).digest("base64url");
  const attributes = { httpOnly: true, sameSite: "strict" as const, secure: config.cookieSecure, path: "/" };
  const digest = (s: string) => createHash("sha256").update(s).digest();

  const isInstructor = (req: Request): boolean => {
    const value: unknown = req.cookies?.[cookieName];
    if (typeof value !== "string") return false;
    const m = /^(\d{13})\.([\w-]{43})$/.exec(value);
    if (!m) return false;
    const expires = Number(m[1]);
    const given = Buffer.from(m[2]!);
    const expected = Buffer.from(sign(expires));
    return expires > realClock.now() && given.length === expected.length && timingSafeEqual(given, expected);
  };

  return {
    cookieName,
    isInstructor,
    /** Compares digests, so the time taken says nothing about the password's length or prefix. */
    passwordMatches: (given: unknown) =>
      config.instructorPassword !== null && typeof given === "string" && timingSafeEqual(digest(given), digest(config.instructorPassword)),
    grant(res: Response) {
      const expires = realClock.now() + PASS_MS;
      res.cookie(cookieName, `${expires}.${sign(expires)}`, { ...attributes, expires: new Date(expires) });
    },
    revoke: (res: Response) => res.clearCookie(cookieName, attributes),
  };
}

export type InstructorAuth = ReturnType<typeof createInstructorAuth>;

export function instructorRoutes(deps: InstructorDeps & { auth: InstructorAuth }): Router {
  const { config, classroom, store, cleanup, technique, auth, flash } = deps;
  const router = Router();
  const clock = classroom.clock;

  const requireInstructor: RequestHandler = (req, res, next) => {
    if (config.instructorPassword === null) {
      res.status(404).render("instructor-off", { title: "Instructor dashboard" });
      return;
    }
    if (auth.isInstructor(req)) return next();
    res.redirect(303, `/instructor/login?next=${encodeURIComponent(req.originalUrl)}`);
  };

  const guesses = rateLimit({
    windowMs: 15 * 60_000,
    limit: 10,
    skipSuccessfulRequests: true,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new HttpError(429, "Too many wrong passwords. Please wait 15 minutes and try again.", "Slow down")),
  });

  // Samples for the chart: one whenever the dashboard is drawn (page or server-sent update,
  // every 2 s while it is open), at most one per 2 s. Nothing runs while nobody watches.
  let lastSample = 0;
  const sample = (stats: { live: number; expired: number }) => {
    if (deps.realClock.now() - lastSample < 2_000) return;
    lastSample = deps.realClock.now();
    classroom.sample(stats);
  };

  const rowsOf = (listed: ListedSession[], now: number) =>
    listed.map((s) => ({
      key: s.key,
      fingerprint: fingerprint(s.key),
      signedIn: s.userId !== null,
      cartLines: s.data.cart.length,
      items: s.data.cart.reduce((n, l) => n + l.quantity, 0),
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      expired: s.expiresAt <= now,
    }));

  /**
   * What the live part shows. A store outage is part of the picture, not a crash: the dashboard
   * says "store unavailable" and the next refresh recovers by itself.
   */
  const liveModel = async () => {
    const now = clock.now();
    let stats = { live: 0, expired: 0 };
    let rows: ReturnType<typeof rowsOf> = [];
    let storeError = false;
    if (store) {
      try {
        stats = await store.stats(now);
        rows = rowsOf(await store.listAll(200), now);
        sample(stats);
      } catch (error) {
        storeError = true;
        deps.log.warn({ err: error instanceof Error ? error.message : String(error) }, "instructor dashboard: session store unavailable");
      }
    } else {
      sample(stats);
    }
    return {
      now,
      stats,
      technique,
      storeAvailable: store !== null,
      storeError,
      chart: renderHistoryChart(classroom.history),
      lastSweep: classroom.lastSweep,
      rows,
    };
  };

  router.get("/instructor/login", (req, res) => {
    if (config.instructorPassword === null) return void res.status(404).render("instructor-off", { title: "Instructor dashboard" });
    res.render("instructor-login", { title: "Instructor sign-in", error: null, next: safeLocalPath(req.query.next, "/instructor") });
  });

  router.post("/instructor/login", guesses, (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const next = safeLocalPath(form.next, "/instructor");
    if (!auth.passwordMatches(form.password)) {
      res.status(401).render("instructor-login", { title: "Instructor sign-in", error: "That is not the instructor password.", next });
      return;
    }
    auth.grant(res);
    res.redirect(303, next.startsWith("/instructor") || next.startsWith("/labs") ? next : "/instructor");
  });

  router.post("/instructor/logout", (_req, res) => {
    auth.revoke(res);
    res.redirect(303, "/");
  });

  router.get("/instructor", requireInstructor, async (_req, res) => {
    res.render("instructor", {
      title: "Instructor dashboard",
      live: await liveModel(),
      settings: {
        technique,
        idleTimeoutMs: config.idleTimeoutMs,
        absoluteTimeoutMs: config.absoluteTimeoutMs,
        cleanupIntervalMs: config.cleanupIntervalMs,
        touchIntervalMs: config.touchIntervalMs,
        instanceName: config.instanceName,
      },
      labModes: Object.entries(labModeLabels).map(([name, label]) => ({ name, label, on: classroom.labModes[name as LabModeName] })),
      vulnerableLabsAllowed: classroom.vulnerableLabsAllowed,
      cleanupAvailable: cleanup !== null,
    });
  });

  // Server-sent events: the live part of the page, re-rendered on the server every 2 seconds.
  router.get("/instructor/events", requireInstructor, (req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    res.flushHeaders();
    const render = (live: Awaited<ReturnType<typeof liveModel>>) =>
      new Promise<string>((resolve, reject) =>
        res.app.render("partials/instructor-live", { ...res.locals, live }, (err, out) => (err ? reject(err) : resolve(out))),
      );
    const push = async () => {
      try {
        res.write(`event: live\ndata: ${JSON.stringify({ html: await render(await liveModel()) })}\n\n`);
      } catch {
        res.write(`event: error\ndata: {}\n\n`);
      }
    };
    void push();
    const timer = setInterval(() => void push(), 2_000);
    const forget = classroom.trackStream(() => {
      clearInterval(timer);
      res.end();
    });
    req.on("close", () => {
      clearInterval(timer);
      forget();
    });
  });

  const back = (req: Request) => safeLocalPath(((req.body ?? {}) as Record<string, unknown>).returnTo, "/instructor");

  router.post("/instructor/sweep", requireInstructor, async (req, res) => {
    if (!cleanup) {
      flash.set(
        res,
        "info",
        technique === "cookie"
          ? "Nothing to sweep: the cookie technique stores nothing on the server."
          : "Nothing to sweep: Redis deletes expired keys itself.",
      );
    } else {
      const result = await cleanup.runOnce();
      if (result === undefined) flash.set(res, "error", "The sweep failed (the database was busy); the job retries at its next tick.");
      else {
        // runOnce reports only sweeps that removed something through onSweep; record an empty one too.
        if (result.removed === 0) classroom.recordSweep(0);
        flash.set(res, "success", `Sweep now: the cleanup job removed ${result.removed} expired ${result.removed === 1 ? "session" : "sessions"}.`);
      }
    }
    res.redirect(303, back(req));
  });

  const keyFrom = (value: unknown) => {
    if (typeof value !== "string" || !KEY.test(value)) throw badRequest("That is not a session key.");
    return value;
  };

  router.post("/instructor/sessions/:key/expire", requireInstructor, async (req, res) => {
    const key = keyFrom(req.params.key);
    const now = clock.now();
    // Expired but still stored: the next sweep (or "Sweep now") deletes it, which is the point of the demo.
    const done = store ? await store.update(key, now, (s) => ({ ...s, expiresAt: now })) : null;
    flash.set(
      res,
      done ? "success" : "error",
      done ? `Session ${fingerprint(key)} expired now; its record waits for the cleanup job.` : "That session had already ended.",
    );
    res.redirect(303, "/instructor");
  });

  router.post("/instructor/sessions/:key/revoke", requireInstructor, async (req, res) => {
    const key = keyFrom(req.params.key);
    await store?.destroy(key);
    flash.set(res, "success", `Session ${fingerprint(key)} revoked: its record is deleted, so its cookie is dead.`);
    res.redirect(303, "/instructor");
  });

  router.post("/instructor/clock", requireInstructor, (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (form.action === "real") {
      classroom.backToRealTime();
      flash.set(res, "success", "The demo clock is back to real time.");
    } else {
      const minutes = typeof form.minutes === "string" && /^\d{1,6}$/.test(form.minutes) ? Number(form.minutes) : NaN;
      if (!(minutes >= 1 && minutes <= 60 * 24 * 60)) throw badRequest("Fast-forward by a whole number of minutes, from 1 to 86400 (60 days).");
      classroom.fastForward(minutes);
      flash.set(res, "success", `Fast-forwarded the server's clock by ${minutes} min.`);
    }
    res.redirect(303, back(req));
  });

  router.post("/instructor/labs", requireInstructor, (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const name = form.mode;
    // hasOwn, not `in`: "__proto__" and "toString" are "in" every object.
    if (typeof name !== "string" || !Object.hasOwn(labModeLabels, name)) throw badRequest("That is not a lab mode.");
    const on = form.on === "1";
    if (on && !classroom.vulnerableLabsAllowed) {
      throw new HttpError(
        403,
        "Vulnerable lab modes are off on this server. Restart it with CLASSROOM_VULNERABLE_LABS=1 (never in production).",
        "Not enabled",
      );
    }
    classroom.setLabMode(name as LabModeName, on);
    flash.set(res, on ? "error" : "success", `${labModeLabels[name as LabModeName]}: ${on ? "ON — this shop is now deliberately vulnerable" : "off"}.`);
    res.redirect(303, back(req));
  });

  return router;
}
