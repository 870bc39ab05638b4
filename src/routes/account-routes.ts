/**
 * "Your active sessions": a signed-in shopper sees every session of their account (browser,
 * created, last seen) and can end any other one, or all others at once. Ending a session deletes
 * its row, so a cookie left behind on a shared or lost device stops working at once.
 */
import { Router } from "express";
import { describeUserAgent } from "../auth/devices.js";
import { badRequest } from "../errors.js";
import { requireUser } from "../middleware/locals.js";
import type { RouteDeps } from "./deps.js";

export function accountRoutes({ store, flash, clock }: RouteDeps): Router {
  const router = Router();

  router.get("/account/sessions", requireUser, async (req, res) => {
    const listed = await store.listByUser(res.locals.user.id, clock.now());
    res.render("sessions", {
      title: "Your active sessions",
      now: clock.now(),
      sessions: listed.map((s) => ({
        key: s.key,
        current: s.key === req.session.key,
        device: describeUserAgent(s.userAgent),
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
      })),
    });
  });

  router.post("/account/sessions/end", requireUser, async (req, res) => {
    const key = (req.body as Record<string, unknown> | undefined)?.session;
    if (typeof key !== "string" || !/^[0-9a-f]{64}$/.test(key)) throw badRequest("That is not one of your sessions.");
    if (key === req.session.key) throw badRequest("To end this session, sign out.");
    const ended = await store.destroyForUser(res.locals.user.id, { only: key });
    flash.set(res, ended ? "success" : "info", ended ? "That session has been signed out." : "That session had already ended.");
    res.redirect(303, "/account/sessions");
  });

  router.post("/account/sessions/end-others", requireUser, async (req, res) => {
    const ended = await store.destroyForUser(res.locals.user.id, { except: req.session.key! });
    flash.set(res, "success", ended === 1 ? "Signed out 1 other session." : `Signed out ${ended} other sessions.`);
    res.redirect(303, "/account/sessions");
  });

  return router;
}
