/**
 * The account pages: "your active sessions" and "change password".
 *
 * A signed-in shopper sees every session of their account (browser, signed in, last seen) and
 * can end some, all the others, or every one including this one. Ending a session deletes its
 * row, so a cookie left behind on a shared or lost device stops working at once; its cart stays
 * with the account (src/accounts/saved-carts.ts) and the device is told why at its next request.
 *
 * Changing the password ends every other session of the account (OWASP ASVS 5.0 V7.4.3): whoever
 * knew the old password may be signed in somewhere, and the new password must lock them out. This
 * session gets a new ID, as at sign-in.
 *
 * Both ask for the password again (ASVS 5.0 V7.5.2): someone who found this browser signed in
 * must not be able to lock the real owner out of their other devices, or take the account over.
 */
import { Router, type Request, type Response } from "express";
import { spell } from "../accounts/notices.ts";
import type { EndReason } from "../accounts/saved-carts.ts";
import { describeUserAgent } from "../auth/devices.ts";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "../auth/password.ts";
import type { Config } from "../config.ts";
import { createFailureLimit } from "../middleware/rate-limit.ts";
import { badRequest } from "../errors.ts";
import { requireUser, userOf } from "../middleware/require-user.ts";
import type { RouteDeps } from "./deps.ts";

const KEY = /^[0-9a-f]{64}$/;

export function accountRoutes(
  { store, users, sessions, flash, clock, audit, passwords, savedCarts, limits }: RouteDeps,
  timeouts: Pick<Config, "idleTimeoutMs" | "absoluteTimeoutMs">,
): Router {
  const router = Router();

  // The password checks below are password oracles too: whoever sits at a signed-in browser could
  // guess the password here instead of at /login. Same limits as sign-in: 10 failures per account
  // and 30 per client per 15 minutes.
  const guessLimit = createFailureLimit({
    name: "password-again-account",
    stores: limits,
    limit: 10,
    key: (_req, res) => `account-password:${String(res.locals.user?.id)}`,
    message: "Too many wrong passwords. Please wait 15 minutes and try again.",
  });
  const perClient = createFailureLimit({
    name: "password-again-client",
    stores: limits,
    limit: 30,
    message: "Too many wrong passwords from your network. Please wait 15 minutes and try again.",
  });

  const form = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value.slice(0, MAX_PASSWORD_LENGTH * 4) : "");

  /** The password is right (scrypt, rationed): else false, and the caller answers 401 having changed nothing. */
  const confirmed = async (res: Response, password: string) => {
    const account = await users.findByEmail(userOf(res).email);
    return account !== undefined && password !== "" && (await passwords.verify(password, account.passwordHash)) ? account : undefined;
  };

  /** End sessions of this account in the store, then say why to each of them (their next request). */
  const endSessions = async (userId: number, filter: { only?: string; except?: string }, reason: EndReason) => {
    if (!store) return 0;
    const now = clock.now();
    const before = await store.listByUser(userId, now);
    const ended = await store.destroyForUser(userId, filter);
    // Recorded after the delete, never before: an ending recorded for a live session would let
    // a sign-in elsewhere take its cart while it is still in use.
    for (const s of before) {
      const affected = filter.only !== undefined ? s.key === filter.only : s.key !== filter.except;
      if (affected) await savedCarts.recordEnd(s.key, reason, now);
    }
    return ended;
  };

  async function renderSessions(req: Request, res: Response, error: string | null) {
    // The cookie technique keeps nothing on the server: there is no list to show, and nothing to revoke.
    const listed = store ? await store.listByUser(userOf(res).id, clock.now()) : [];
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

  const renderAccount = (res: Response, errors: Record<string, string>) =>
    res.render("account", {
      title: "Your account",
      errors,
      listable: store !== null,
      idle: spell(timeouts.idleTimeoutMs),
      absolute: spell(timeouts.absoluteTimeoutMs),
    });

  router.get("/account", requireUser, (_req, res) => renderAccount(res, {}));

  router.post("/account/password", requireUser, perClient, guessLimit, async (req, res) => {
    const current = text(form(req).currentPassword);
    const next = text(form(req).newPassword);
    const repeated = text(form(req).confirmPassword);
    const account = await confirmed(res, current);
    if (!account) {
      audit("password-change", "failure", { userId: userOf(res).id, reason: "wrong password", session: req.session.key });
      res.status(401);
      renderAccount(res, { currentPassword: "That is not your current password, so nothing was changed." });
      return;
    }
    const problem = passwordProblem(next, account.email) ?? (next !== repeated ? "The two new passwords are not the same." : null);
    if (problem || next === current) {
      res.status(400);
      renderAccount(res, { newPassword: problem ?? "The new password must differ from the current one. Nothing was changed." });
      return;
    }
    await users.setPasswordHash(account.id, await passwords.hash(next));
    const ended = await endSessions(account.id, { except: req.session.key ?? "" }, "password-changed");
    const previousSession = req.session.key;
    await sessions.regenerate(req.session, res, { userId: account.id }); // a new ID, the cart kept
    audit("password-change", "success", { userId: account.id, session: req.session.key, previousSession, count: ended });
    flash.set(
      res,
      "success",
      store
        ? `Your password was changed. ${ended === 1 ? "1 other session was" : `${ended} other sessions were`} signed out, and this browser has a new session ID.`
        : "Your password was changed, and this browser has a new session ID.",
      store
        ? []
        : [
            "This shop keeps sessions in cookies (the cookie technique), so the server has no list of your other sessions and cannot sign them out.",
            `A browser still signed in elsewhere stays signed in until its cookie expires: after ${spell(timeouts.idleTimeoutMs)} without activity, or ${spell(timeouts.absoluteTimeoutMs)} at most.`,
            "What it can do: sign-ins from now on need the new password. Sign out on the other devices yourself.",
          ],
    );
    res.redirect(303, "/account");
  });

  router.get("/account/sessions", requireUser, (req, res) => renderSessions(req, res, null));

  router.post("/account/sessions/end", requireUser, perClient, guessLimit, async (req, res) => {
    const action = form(req).action;
    const all = action === "all";
    const everywhere = action === "everywhere";
    const chosen = ([] as unknown[]).concat(form(req).session ?? []);
    if (!all && !everywhere && chosen.length === 0) throw badRequest("Choose at least one session to sign out.");
    if (!chosen.every((k): k is string => typeof k === "string" && KEY.test(k))) throw badRequest("That is not one of your sessions.");
    if (!everywhere && chosen.some((k) => k === req.session.key)) throw badRequest("To end this session, sign out.");

    const account = await confirmed(res, typeof form(req).password === "string" ? String(form(req).password) : "");
    if (!account) {
      audit(everywhere ? "signed-out-everywhere" : "other-sessions-ended", "failure", {
        userId: userOf(res).id,
        reason: "wrong password",
        session: req.session.key,
      });
      res.status(401);
      await renderSessions(req, res, "That password is not right, so no session was signed out.");
      return;
    }
    if (!store) throw badRequest("This shop keeps sessions in cookies only: the server has no list of them, so it cannot sign one out.");
    if (everywhere) {
      const key = req.session.key;
      const ended = await endSessions(account.id, { except: key ?? "" }, "other-device");
      await sessions.destroy(req.session, res); // this one too: signed out here, its cart kept with the account
      audit("signed-out-everywhere", "success", { userId: account.id, session: key, count: ended + 1 });
      flash.set(res, "success", `Signed out everywhere: this browser and ${ended === 1 ? "1 other session" : `${ended} other sessions`}.`);
      res.redirect(303, "/");
      return;
    }
    let ended = 0;
    if (all) ended = await endSessions(account.id, { except: req.session.key! }, "other-device");
    else for (const key of chosen as string[]) ended += await endSessions(account.id, { only: key }, "other-device");
    audit("other-sessions-ended", "success", { userId: account.id, session: req.session.key, count: ended });
    flash.set(res, "success", ended === 1 ? "Signed out 1 other session." : `Signed out ${ended} other sessions.`);
    res.redirect(303, "/account/sessions");
  });

  return router;
}
