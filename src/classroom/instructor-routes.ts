/**
 * The instructor dashboard (/instructor): signing in and out, the page, and its live stream.
 * The buttons on the page are instructor-actions.ts; who may see any of it is instructor-auth.ts.
 */
import { Router } from "express";
import type { Config } from "../config.ts";
import type { LimitStores } from "../middleware/limit-stores.ts";
import { createFailureLimit } from "../middleware/rate-limit.ts";
import { safeLocalPath } from "../safe-local-path.ts";
import type { LabModeName } from "./classroom.ts";
import { labModeLabels } from "./classroom.ts";
import { instructorActions, type InstructorActionDeps } from "./instructor-actions.ts";
import { createLiveView, type LiveViewDeps } from "./instructor-live.ts";
import { liveStream } from "./instructor-stream.ts";

export interface InstructorDeps extends InstructorActionDeps, LiveViewDeps {
  config: Config;
  /** Where the password limit counts (middleware/limit-stores.ts). */
  limits: LimitStores;
}

export function instructorRoutes(deps: InstructorDeps): Router {
  const { config, classroom, cleanup, technique, auth } = deps;
  const { requireInstructor } = auth;
  const router = Router();
  const liveModel = createLiveView(deps);
  const guesses = createFailureLimit({
    name: "instructor-password",
    stores: deps.limits,
    limit: 10,
    message: "Too many wrong passwords. Please wait 15 minutes and try again.",
  });

  router.get("/instructor/login", (req, res) => {
    if (config.instructorPassword === null) return void res.status(404).render("instructor-off", { title: "Instructor dashboard" });
    res.render("instructor-login", { title: "Instructor sign-in", error: null, next: safeLocalPath(req.query.next, "/instructor") });
  });

  router.post("/instructor/login", guesses, async (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const next = safeLocalPath(form.next, "/instructor");
    if (!auth.passwordMatches(form.password)) {
      deps.audit("instructor-sign-in", "failure", { reason: "wrong password" });
      res.status(401).render("instructor-login", { title: "Instructor sign-in", error: "That is not the instructor password.", next });
      return;
    }
    await auth.grant(res);
    deps.audit("instructor-sign-in", "success");
    res.redirect(303, next.startsWith("/instructor") || next.startsWith("/labs") ? next : "/instructor");
  });

  router.post("/instructor/logout", async (req, res) => {
    await auth.revoke(req, res);
    deps.audit("instructor-sign-out", "success");
    res.redirect(303, "/");
  });

  router.get("/instructor", requireInstructor, async (req, res) => {
    res.render("instructor", {
      title: "Instructor dashboard",
      live: await liveModel(req.session),
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

  router.get("/instructor/events", requireInstructor, liveStream({ classroom, liveModel }));

  router.use(instructorActions(deps));
  return router;
}
