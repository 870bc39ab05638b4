/**
 * "Why is my cart empty?" — a request whose cookie names a session that has ended gets one
 * notice in words, once: the session layer has already cleared the cookie, so the next page is
 * quiet. Everything here is looked up by the key of the cookie this browser sent, so a notice
 * can only ever describe the sender's own session, never another visitor's.
 *
 * A form sent from a page of the ended session (an add to cart on device B after the password was
 * changed on device A) is refused with the notice (409), not quietly applied to a brand-new guest
 * session the shopper never asked for: they read why, and nothing changed. Sign-in and
 * registration are exempt: a stale sign-in form must still sign in.
 */
import type { RequestHandler } from "express";
import { HttpError } from "../errors.ts";
import type { Clock } from "../clock.ts";
import type { Technique } from "../session/types.ts";
import type { SavedCarts } from "./saved-carts.ts";
import { SIGN_IN_FORMS } from "../middleware/csrf.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** What can remove a guest's session on each technique, as facts rather than a guess at this one's cause. */
const GUEST_CAUSES: Partial<Record<Technique, string>> = {
  sqlite: "Carts are kept for IDLE without activity.",
  memory: "Carts are kept for IDLE without activity, in this shop's memory: a restart clears them all.",
  redis: "Carts are kept for IDLE without activity; a restart of the store without persistence, or an emptied store, also clears them.",
};

export interface NoticeDeps {
  savedCarts: SavedCarts;
  clock: Clock;
  technique: Technique;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  onError: (error: unknown) => void;
}

/** 1800000 → "30 minutes", 604800000 → "7 days". */
export function spell(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? "" : "s"}`;
  }
  return `${Math.round(ms / 1000)} seconds`;
}

export function sessionNotices(deps: NoticeDeps): RequestHandler {
  const { savedCarts, clock, technique } = deps;
  const idle = spell(deps.idleTimeoutMs);
  const absolute = spell(deps.absoluteTimeoutMs);

  const explain = async (key: string, record: { userId: number | null } | null, event: string): Promise<string> => {
    const [ending, saved] = await Promise.all([savedCarts.endOf(key), savedCarts.find(key)]);
    const signedIn = (record !== null && record.userId !== null) || saved !== undefined;
    const now = clock.now();
    let why: string;
    if (ending) why = ending.reason;
    else if (event === "expired-idle" || event === "expired-absolute") why = event === "expired-idle" ? "idle" : "absolute";
    else if (saved) why = saved.expiresAt > now ? "lost" : saved.expiresAt >= saved.createdAt + deps.absoluteTimeoutMs ? "absolute" : "idle";
    else why = "unknown";

    if (signedIn) {
      const cart = saved && saved.cart.length > 0 ? " Your cart was saved to your account — sign in to get it back." : " Sign in again to continue.";
      const lead: Record<string, string> = {
        idle: `You were signed out after ${idle} without activity.`,
        absolute: `You were signed out: a session lasts at most ${absolute}, however active.`,
        "signed-out": "This session was signed out.",
        "other-device": "You were signed out from another device.",
        "password-changed": "You were signed out because your password was changed.",
        instructor: "Your session was ended by the instructor.",
        lost: "Your session could not be found: the shop's session store no longer has it (for example after a restart).",
        unknown: "Your session has ended.",
      };
      return `${lead[why] ?? lead.unknown}${cart}`;
    }
    const lead: Record<string, string> = {
      idle: `Your cart was cleared after ${idle} without activity.`,
      absolute: `Your cart was cleared: a visit lasts at most ${absolute}.`,
      instructor: "Your session was ended by the instructor, and its cart with it.",
      // No record and no recorded ending: the store does not know why, so neither do we. Say what
      // is certain (the store no longer has it) and what can cause it on this technique, never
      // "you were inactive": after a Redis FLUSHALL or restart that was untrue (issue 29).
      unknown: `Your session has ended and its cart is gone: the shop's session store no longer has it. ${(GUEST_CAUSES[technique] ?? GUEST_CAUSES.sqlite!).replace("IDLE", idle)}`,
    };
    return lead[why] ?? lead.unknown!;
  };

  return async (req, res, next) => {
    const ended = req.session.ended;
    const event = req.session.events.find((e) => e === "unknown-id" || e === "expired-idle" || e === "expired-absolute");
    if (ended && event) {
      try {
        res.locals.sessionNotice = await explain(ended.key, ended.record, event);
        await savedCarts.forgetEnd(ended.key); // once
      } catch (error) {
        deps.onError(error); // a notice is a courtesy: never fail the page for it
      }
      if (res.locals.sessionNotice && !SAFE.has(req.method) && !SIGN_IN_FORMS.has(req.path)) {
        throw new HttpError(409, `${res.locals.sessionNotice} Nothing was changed.`, "Your session ended");
      }
    }
    next();
  };
}
