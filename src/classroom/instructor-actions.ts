/**
 * The dashboard's buttons: sweep now, expire or revoke one session, move the demo clock, switch
 * the lab modes, and choose how carts merge at sign-in (lab 13). Every one is a POST behind the instructor's pass, and each says what it
 * did in a flash message on the page it returns to.
 */
import { Router, type Request, type Response } from "express";
import { HttpError, badRequest } from "../errors.ts";
import { safeLocalPath } from "../safe-local-path.ts";
import { fingerprint } from "../session/id.ts";
import type { ServerStore } from "../session/directory.ts";
import type { Technique } from "../session/types.ts";
import type { Classroom, LabModeName } from "./classroom.ts";
import { labModeLabels } from "./classroom.ts";
import type { InstructorAuth } from "./instructor-auth.ts";
import type { Audit } from "../auth/audit.ts";
import { cartMergeLabels, isMergePolicy } from "./lab-13-routes.ts";

const KEY = /^[0-9a-f]{64}$/;

export interface InstructorActionDeps {
  classroom: Classroom;
  store: ServerStore | null;
  cleanup: { runOnce(): Promise<{ removed: number } | undefined> } | null;
  technique: Technique;
  auth: InstructorAuth;
  flash: { set(res: Response, kind: "success" | "error" | "info", text: string): void };
  audit: Audit;
  onSessionEnded?: (key: string) => Promise<void>;
}

export function instructorActions({ classroom, store, cleanup, technique, auth, flash, audit, onSessionEnded }: InstructorActionDeps): Router {
  const router = Router();
  const { requireInstructor } = auth;
  const clock = classroom.clock;

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
    if (done) await onSessionEnded?.(key);
    audit("session-expired-by-instructor", done ? "success" : "failure", {
      userId: done?.userId ?? null,
      session: key,
      ...(done ? {} : { reason: "already ended" }),
    });
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
    if (store) await onSessionEnded?.(key);
    audit("session-revoked-by-instructor", "success", { session: key });
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

  // Lab 13: how the guest's cart and the account's saved cart become one at sign-in. Not a
  // vulnerable mode (every policy is a real shop's), so it needs no CLASSROOM_VULNERABLE_LABS.
  router.post("/instructor/cart-merge", requireInstructor, (req, res) => {
    const policy = ((req.body ?? {}) as Record<string, unknown>).policy;
    if (!isMergePolicy(policy)) throw badRequest("That is not a cart merge policy: choose sum, larger, newest or account.");
    classroom.setCartMergePolicy(policy);
    flash.set(res, "success", `Carts now merge at sign-in by “${cartMergeLabels[policy]}”. The next sign-in uses it.`);
    res.redirect(303, back(req));
  });

  return router;
}
