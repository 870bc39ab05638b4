/**
 * SQLite's "not now" failures — the write lock held past the busy timeout, a full disk, a
 * read-only or vanished file — become the one StoreUnavailableError (503 + Retry-After). A
 * constraint violation or a syntax error is a bug and stays what it is (a 500, logged).
 */
import { StoreUnavailableError } from "../errors.ts";

const UNAVAILABLE = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL"]);

/** Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, …) count as their primary code. */
const isUnavailable = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && UNAVAILABLE.has(code.replace(/^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/, "$1"));
};

const translate = (error: unknown): never => {
  throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
};

/**
 * The same API with every method's SQLite failures translated, synchronous or async alike.
 * Wraps the module's public face once, so no call site has to remember.
 */
export function translatingUnavailable<T extends object>(api: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(api)) {
    if (typeof value !== "function") {
      wrapped[name] = value;
      continue;
    }
    wrapped[name] = (...args: unknown[]) => {
      try {
        const result: unknown = value.apply(api, args);
        return result instanceof Promise ? result.catch(translate) : result;
      } catch (error) {
        return translate(error);
      }
    };
  }
  return wrapped as T;
}
