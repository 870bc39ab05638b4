/**
 * SQLite's "not now" failures — the write lock held past the busy timeout, a full disk, a
 * read-only or vanished file — become the one StoreUnavailableError (503 + Retry-After). A
 * constraint violation or a syntax error is a bug and stays what it is (a 500, logged).
 *
 * Waiting for another connection's write lock happens here, not inside SQLite: SQLite's own
 * busy wait is synchronous, so a 2 s wait would freeze the whole process (every request, every
 * static file) for 2 s. The connection waits only a few ms (openDatabase), and a busy write is
 * retried from the event loop with a short backoff until the configured deadline.
 *
 * One level retries, never two: the session store's methods (technique.ts) and the rate limits'
 * (limit-stores.ts) through translatingUnavailable below, the shop's data statement by statement
 * (db/sql.ts). Routes never retry: a retry around a retry would wait the deadline twice over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { StoreUnavailableError } from "../errors.ts";

const UNAVAILABLE = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL"]);

/** Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, …) count as their primary code. */
const isUnavailable = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && UNAVAILABLE.has(code.replace(/^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/, "$1"));
};

/** The write lock is another connection's (also when already translated). */
export const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^SQLITE_BUSY/.test(code)) return true;
  return error instanceof StoreUnavailableError && isBusy(error.cause);
};

/**
 * Run `work` (again) while SQLite says the write lock is taken, pausing 5, 10, 20, 40, 50, 50 … ms
 * in between, until `deadlineMs` has passed; then its error stands. `work` must be safe to repeat:
 * a busy SQLite statement or IMMEDIATE transaction has done nothing.
 */
export async function retryWhileBusy<T>(work: () => T | Promise<T>, deadlineMs: number): Promise<T> {
  const giveUpAt = performance.now() + deadlineMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (performance.now() + pause > giveUpAt) throw error;
      await sleep(pause);
    }
  }
}

const translate = (error: unknown): never => {
  throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
};

/**
 * The same API with every method's SQLite failures translated, synchronous or async alike.
 * Wraps the module's public face once, so no call site has to remember.
 */
export function translatingUnavailable<T extends object>(api: T, options: { retryAsyncWhileBusyMs?: number } = {}): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(api)) {
    if (typeof value !== "function") {
      wrapped[name] = value;
      continue;
    }
    wrapped[name] = (...args: unknown[]) => {
      try {
        const result: unknown = value.apply(api, args);
        if (!(result instanceof Promise)) return result;
        // An async method can wait without blocking: retry it while the lock is taken. One handler,
        // not a chain: every session read and write passes here, and each link is a promise more.
        return result.then(undefined, (error: unknown) =>
          options.retryAsyncWhileBusyMs && isBusy(error)
            ? retryWhileBusy(() => value.apply(api, args), options.retryAsyncWhileBusyMs).catch(translate)
            : translate(error),
        );
      } catch (error) {
        return translate(error);
      }
    };
  }
  return wrapped as T;
}
