/**
 * withNewSessionLimit(storage): at most `perClient` NEW sessions per client address in a
 * 10-minute window; beyond it, a friendly 429 page with Retry-After, and nothing is stored.
 *
 * Why: a session costs the server a row (SQLite, Redis) or memory (the memory technique) for the
 * whole idle timeout. One client posting add-to-cart without keeping the cookie made 2,637 new
 * sessions a second; in 20 s the WAL grew to 617 MB, and kept up for 30 minutes that is millions
 * of rows and a full disk, which refuses every shopper's writes (issue 29).
 *
 * Only the creation of a session is counted (the first change() of a visitor without one, or a
 * sign-in without one): a shopper who has a session is never slowed down, however busy. The
 * default, 600 per 10 minutes, lets a classroom of 40 behind one address each start 15 sessions in
 * ten minutes (labs open several browsers; a sign-in of a guest keeps its session and is not
 * counted), while a flood is cut to one new session a second. Behind a proxy set TRUST_PROXY, or
 * every visitor is one address. IPv6 addresses count per /56 (express-rate-limit's ipKeyGenerator):
 * one subscriber gets a whole range. The cookie technique stores nothing on the server: no limit.
 * The counts are kept where the other limits' are (limit-stores.ts), so N instances admit what one does.
 */
import type { Request, Response } from "express";
import { ipKeyGenerator, type Options, type Store } from "express-rate-limit";
import { HttpError } from "../errors.ts";
import type { Session, SessionStorage } from "../session/types.ts";

const WINDOW_MS = 10 * 60_000;

export class TooManyNewSessionsError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(
      429,
      "Too many new shopping sessions have been started from your network in the last few minutes, so this one was not started and nothing was saved. " +
        `Please try again in ${retryAfterSeconds < 90 ? `${retryAfterSeconds} seconds` : `${Math.ceil(retryAfterSeconds / 60)} minutes`}. ` +
        "If you already have a cart in this browser, it is safe: keep cookies on and it is never limited.",
      "Slow down",
      { retryAfterSeconds },
    );
  }
}

export function withNewSessionLimit(inner: SessionStorage, { perClient, counts }: { perClient: number; counts: Store }): SessionStorage {
  if (perClient <= 0 || inner.technique === "cookie") return inner;
  // An express-rate-limit store (fixed windows), shared by every instance: limit-stores.ts.
  void counts.init?.({ windowMs: WINDOW_MS } as Options);

  /** Throws the 429 when this request would start one session too many from its address. */
  const admit = async (session: Session, res: Response) => {
    if (session.key !== null) return; // has a session: never counted, never refused
    const req = res.req as Request;
    const { totalHits, resetTime } = await counts.increment(ipKeyGenerator(req.ip ?? "unknown"));
    if (totalHits > perClient) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
      throw new TooManyNewSessionsError(retryAfterSeconds);
    }
  };

  return {
    technique: inner.technique,
    cookieName: inner.cookieName,
    load: (req, res) => inner.load(req, res),
    async change(session, res, mutate, options) {
      await admit(session, res);
      return inner.change(session, res, mutate, options);
    },
    async regenerate(session, res, change) {
      await admit(session, res);
      return inner.regenerate(session, res, change);
    },
    destroy: (session, res) => inner.destroy(session, res),
  };
}
