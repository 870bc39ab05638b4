/**
 * Where the rate limits count. express-rate-limit's default store is a Map in each process, so
 * three instances allowed three times the password guesses. Here every instance counts in the same
 * place, so N instances allow what one allows:
 * - in Redis when the shop keeps its sessions there (rate-limit-redis: one Lua script per count);
 * - in PostgreSQL when the sessions are there (a `rate_limits` table, the database's clock);
 * - otherwise in the shop's own database (the `rate_limits` table), which every process of the
 *   shop already shares.
 *
 * When that place cannot be reached (Redis or PostgreSQL down, frozen past its deadline), the limited request gets the 503 page ("nothing was saved"),
 * as a session write would: a limit is never skipped, and a count is never kept per process, where
 * N instances would quietly allow N times the guesses. Only the forms behind a limit are affected
 * (sign-in, the password asked again, the instructor's password); browsing never passes one. With
 * sessions in Redis those forms cannot work while Redis is away anyway.
 */
import type { Store, Options, IncrementResponse } from "express-rate-limit";
import { RedisStore, type RedisReply } from "rate-limit-redis";
import type { Db } from "../db/open.ts";
import type { PgRunner } from "../db/pg-runner.ts";
import { translatingUnavailable } from "../db/unavailable.ts";
import { StoreUnavailableError } from "../errors.ts";

export interface LimitStores {
  /** The store for one limit: `name` keeps its counts apart from the other limits' (the same IP is a key of several). */
  storeFor(name: string): Store;
  /** Stops the sweep of old counters (the database is closed by its owner). */
  close(): void;
}

/** The counters in the shop's database (SQLite): shared by every process on the file. */
export function createDatabaseLimitStores(db: Db, { busyTimeoutMs, sweepMs = 60_000 }: { busyTimeoutMs: number; sweepMs?: number }): LimitStores {
  // A client's count grows, or starts again once its window is over: one statement, so two
  // instances counting the same client at once both count (no read-then-write race).
  const increment = db.prepare<{ key: string; now: number; windowMs: number }, { hits: number; reset_at: number }>(
    `INSERT INTO rate_limits (key, hits, reset_at) VALUES (@key, 1, @now + @windowMs)
     ON CONFLICT (key) DO UPDATE SET
       hits     = CASE WHEN reset_at <= @now THEN 1 ELSE hits + 1 END,
       reset_at = CASE WHEN reset_at <= @now THEN @now + @windowMs ELSE reset_at END
     RETURNING hits, reset_at`,
  );
  const decrement = db.prepare<[string, number]>("UPDATE rate_limits SET hits = max(hits - 1, 0) WHERE key = ? AND reset_at > ?");
  const reset = db.prepare<[string]>("DELETE FROM rate_limits WHERE key = ?");
  const sweep = db.prepare<[number]>("DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE reset_at <= ? LIMIT 1000)");
  const timer = setInterval(() => {
    try {
      sweep.run(Date.now());
    } catch {
      // Busy or full: the next sweep tries again, and an old row is reset at its next use anyway.
    }
  }, sweepMs);
  timer.unref();

  return {
    storeFor(name) {
      let windowMs = 0;
      const store: Store = {
        localKeys: false,
        prefix: `${name}:`,
        init(options: Options) {
          windowMs = options.windowMs;
        },
        async increment(key): Promise<IncrementResponse> {
          const row = increment.get({ key: `${name}:${key}`, now: Date.now(), windowMs })!;
          return { totalHits: row.hits, resetTime: new Date(row.reset_at) };
        },
        async decrement(key) {
          decrement.run(`${name}:${key}`, Date.now());
        },
        async resetKey(key) {
          reset.run(`${name}:${key}`);
        },
      };
      // Another process's write lock: wait for it without blocking (up to SQLITE_BUSY_TIMEOUT_MS),
      // then the 503 page, as for every other write of the shop.
      return translatingUnavailable(store, { retryAsyncWhileBusyMs: busyTimeoutMs });
    },
    close: () => clearInterval(timer),
  };
}

/** The counters in PostgreSQL: one upsert per count, by the database's clock; `query` has the store's deadline. */
export function createPostgresLimitStores(runner: Pick<PgRunner, "query">, { sweepMs = 60_000 }: { sweepMs?: number } = {}): LimitStores {
  const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
  const timer = setInterval(() => {
    runner.query(`DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE reset_at <= ${NOW_MS} LIMIT 1000)`).catch(() => {}); // the next sweep tries again; an old row is reset at its next use anyway
  }, sweepMs);
  timer.unref();
  return {
    storeFor(name) {
      let windowMs = 0;
      return {
        localKeys: false,
        prefix: `${name}:`,
        init(options: Options) {
          windowMs = options.windowMs;
        },
        async increment(key): Promise<IncrementResponse> {
          // The row lock of ON CONFLICT makes two instances' counts of one client add up.
          const [row] = await runner.query<{ hits: number; reset_at: string }>(
            `INSERT INTO rate_limits AS r (key, hits, reset_at) VALUES ($1, 1, ${NOW_MS} + $2)
             ON CONFLICT (key) DO UPDATE SET
               hits     = CASE WHEN r.reset_at <= ${NOW_MS} THEN 1 ELSE r.hits + 1 END,
               reset_at = CASE WHEN r.reset_at <= ${NOW_MS} THEN excluded.reset_at ELSE r.reset_at END
             RETURNING hits, reset_at`,
            [`${name}:${key}`, windowMs],
          );
          return { totalHits: row!.hits, resetTime: new Date(Number(row!.reset_at)) };
        },
        async decrement(key) {
          await runner.query(`UPDATE rate_limits SET hits = greatest(hits - 1, 0) WHERE key = $1 AND reset_at > ${NOW_MS}`, [`${name}:${key}`]);
        },
        async resetKey(key) {
          await runner.query("DELETE FROM rate_limits WHERE key = $1", [`${name}:${key}`]);
        },
      };
    },
    close: () => clearInterval(timer),
  };
}

/** What the limits need of a node-redis client: one raw command. */
export interface RedisCommands {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The counters in Redis (rate-limit-redis), each call bounded by `timeoutMs` as the session store's are. */
export function createRedisLimitStores(client: RedisCommands, { timeoutMs }: { timeoutMs: number }): LimitStores {
  const send = (...args: string[]) => withDeadline(client.sendCommand(args) as Promise<RedisReply>, timeoutMs);
  return {
    storeFor(name) {
      const inner = new RedisStore({ sendCommand: send, prefix: `rl:${name}:` });
      let options: Options | undefined;
      // rate-limit-redis loads its scripts once, at init; a failed load would fail every count
      // after it, even once Redis is back. So a failed call loads them again for the next one.
      const reload = () => {
        if (options) inner.init(options).catch(() => {});
      };
      const guarded = <T>(call: () => Promise<T>) =>
        call().catch((error: unknown) => {
          reload();
          throw new StoreUnavailableError(error);
        });
      return {
        localKeys: false,
        prefix: inner.prefix,
        init(o: Options) {
          options = o;
          reload();
        },
        increment: (key) => guarded(() => inner.increment(key)),
        decrement: (key) => guarded(() => inner.decrement(key)),
        resetKey: (key) => guarded(() => inner.resetKey(key)),
      };
    },
    close() {},
  };
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
