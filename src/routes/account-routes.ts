/**
 * "Your active sessions": a signed-in shopper sees every session of their account (browser,
 * signed in, last seen) and can end some or all of the others. Ending a session deletes its row,
 * so a cookie left behind on a shared or lost device stops working at once.
 *
 * Ending sessions asks for the password again (OWASP ASVS 5.0 V7.5.2): someone who found this
 * browser signed in must not be able to lock the real owner out of their other devices.
 */
import { Router, type Request, type Response } from "express";
import { describeUserAgent } from "../auth/devices.ts";
import { createFailureLimit } from "../middleware/rate-limit.ts";
import { badRequest } from "../errors.ts";
import { requireUser } from "../middleware/require-user.ts";
import type { RouteDeps } from "./deps.ts";

const KEY = /^[0-9a-f]{64}$/;

export function accountRoutes({ store, users, flash, clock, audit, passwords }: RouteDeps): Router {
  const router = Router();

  // The password check below is a password oracle too: whoever sits at a signed-in browser could
  // guess the password here instead of at /login. Same limit as sign-in: 10 failures per 15 min.
  const guessLimit = createFailureLimit({
    limit: 10,
    key: (_req, res) => `account-sessions:${String(res.locals.user?.id)}`,
    message: "Too many wrong passwords. Please wait 15 minutes and try again.",
  });

  async function render(req: Request, res: Response, error: string | null) {
    // The cookie technique keeps nothing on the server: there is no list to show, and nothing to revoke.
    const listed = store ? await store.listByUser(res.locals.user.id, clock.now()) : [];
    res.render("sessions", {
      title: "Your active sessions",
      error,
      listable: store !== null,
      sessions: listed.map((s) => ({
        key: s.key,
        current: s.key === req.session.key,
        device: describeUserAgent(s.userAgent),
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
      })),
    });
  }

  router.get("/account/sessions", requireUser, (req, res) => render(req, res, null));

  router.post("/account/sessions/end", requireUser, guessLimit, async (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const all = form.action === "all";
    const chosen = ([] as unknown[]).concat(form.session ?? []);
    if (!all && chosen.length === 0) throw badRequest("Choose at least one session to sign out.");
    if (!chosen.every((k): k is string => typeof k === "string" && KEY.test(k))) throw badRequest("That is not one of your sessions.");
    if (chosen.some((k) => k === req.session.key)) throw badRequest("To end this session, sign out.");

    const account = users.findByEmail(res.locals.user.email);
    const password = typeof form.password === "string" ? form.password : "";
    if (!account || !(await passwords.verify(password, account.passwordHash))) {
      audit("other-sessions-ended", "failure", { userId: account?.id ?? null, reason: "wrong password", session: req.session.key });
      res.status(401);
      await render(req, res, "That password is not right, so no session was signed out.");
      return;
    }
    let ended = 0;
    if (!store) throw badRequest("This shop keeps sessions in cookies only: the server has no list of them, so it cannot sign one out.");
    if (all) ended = await store.destroyForUser(account.id, { except: req.session.key! });
    else for (const key of chosen as string[]) ended += await store.destroyForUser(account.id, { only: key });
    audit("other-sessions-ended", "success", { userId: account.id, session: req.session.key, count: ended });
    flash.set(res, "success", ended === 1 ? "Signed out 1 other session." : `Signed out ${ended} other sessions.`);
    res.redirect(303, "/account/sessions");
  });

  return router;
}
