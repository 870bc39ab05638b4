/**
 * The SQLite session store: one row per session in the `sessions` table (db/migrations/003).
 *
 * Every statement is prepared once, here, not per request. Reads filter on expires_at, so a
 * stale row is never returned even before the cleanup job has removed it. Writes (create,
 * update, rekey, destroy) are group-committed (db/group-commit.ts): those of one event-loop turn
 * share one IMMEDIATE transaction, in arrival order, each answered after the COMMIT. The lock is
 * taken before reading, so a read-modify-write cannot interleave with another request of this
 * process (better-sqlite3 is synchronous) nor of another process sharing the file.
 *
 * Trade-off: the methods are async to fit the contract (Redis needs it), but do their work
 * synchronously inside; a query here blocks the event loop for microseconds, not milliseconds.
 */
import { createGroupCommit } from "../../db/group-commit.ts";
import type { Db } from "../../db/open.ts";
import { translatingUnavailable } from "../../db/unavailable.ts";
import type { ServerStore } from "../directory.ts";
import { createRecordCache, frozenCopy, RECORD_BYTES } from "./record-cache.ts";
import { createSqliteDirectory } from "./sqlite-directory.ts";
import type { StoredData, StoredSession } from "../types.ts";

type SessionRow = { data: string; user_id: number | null; created_at: number; last_seen_at: number; expires_at: number; user_agent: string | null };

const fromRow = (r: SessionRow | undefined): StoredSession | undefined => {
  if (!r) return undefined;
  const { user_id: userId, created_at: createdAt, last_seen_at: lastSeenAt, expires_at: expiresAt, user_agent: userAgent } = r;
  return { data: JSON.parse(r.data) as StoredData, userId, createdAt, lastSeenAt, expiresAt, userAgent };
};

/**
 * `busyTimeoutMs`: how long a write may wait for another connection's lock, from the event loop (SQLITE_BUSY_TIMEOUT_MS).
 * `readCache`: how many recently read rows are kept in memory (stores/record-cache.ts), 0 for none.
 */
export function createSqliteStore(db: Db, options: { busyTimeoutMs?: number; readCache?: number } = {}): ServerStore {
  const columns = "data, user_id, created_at, last_seen_at, expires_at, user_agent";
  const selectLive = db.prepare<[string, number], SessionRow>(`SELECT ${columns} FROM sessions WHERE id_hash = ? AND expires_at > ?`);
  const selectAny = db.prepare<[string], SessionRow>(`SELECT ${columns} FROM sessions WHERE id_hash = ?`);
  const insertRow = db.prepare<[string, string, number | null, number, number, number, string | null]>(
    "INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const updateRow = db.prepare<[string, number | null, number, number, string]>(
    "UPDATE sessions SET data = ?, user_id = ?, last_seen_at = ?, expires_at = ? WHERE id_hash = ?",
  );
  // "AND last_seen_at < ?": a touch never moves a session backwards, whatever order two requests finish in.
  const touchRow = db.prepare<[number, number, string, number]>("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ? AND last_seen_at < ?");
  const deleteRow = db.prepare<[string]>("DELETE FROM sessions WHERE id_hash = ?");
  // One bounded batch, found through the expires_at index; the cleanup job yields between batches.
  const deleteExpiredBatch = db.prepare<[number, number]>("DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE expires_at <= ? LIMIT ?)");

  const insert = (key: string, s: StoredSession) => {
    insertRow.run(key, JSON.stringify(s.data), s.userId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent);
    cache.wrote(key, frozenCopy(s)); // remembered as written once its group has committed (record-cache.ts)
  };
  const cache = createRecordCache<StoredSession>(db, { table: "sessions", keyColumn: "id_hash", max: options.readCache ?? 10_000, ...RECORD_BYTES });
  const group = createGroupCommit(db, { settled: cache.settle });
  // From memory while no connection can have changed the row (record-cache.ts); and only while it is live.
  const live = (key: string, now: number) => {
    const stored = cache.read(key, () => fromRow(selectLive.get(key, now)));
    return stored && stored.expiresAt > now ? stored : null;
  };

  // Waits for another connection's write lock without blocking (retried from the event loop), then
  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (503), like every store.
  return translatingUnavailable<ServerStore>(
    {
      kind: "sqlite",
      get: async (key, now) => live(key, now),
      peek: async (key) => fromRow(selectAny.get(key)) ?? null,
      create: async (key, session) => void (await group.run(() => insert(key, session))),
      update: (key, now, change) =>
        group.run(() => {
          const current = live(key, now); // under the write lock: no other connection can commit meanwhile
          if (!current) return null; // gone (logged out, expired, swept): never re-create it
          const next = change(current);
          updateRow.run(JSON.stringify(next.data), next.userId, next.lastSeenAt, next.expiresAt, key);
          cache.wrote(key, frozenCopy({ ...next, createdAt: current.createdAt, userAgent: current.userAgent })); // the row as it now is
          return next;
        }),
      rekey: (oldKey, newKey, now, change) =>
        group.run(() => {
          const current = live(oldKey, now);
          if (!current) return null;
          const next = change(current);
          insert(newKey, next);
          deleteRow.run(oldKey); // the old ID dies in the same commit the new one is born
          return next;
        }),
      touch: async (key, lastSeenAt, expiresAt) => touchRow.run(lastSeenAt, expiresAt, key, lastSeenAt).changes > 0,
      destroy: async (key) => void (await group.run(() => deleteRow.run(key))), // in the queue: a logout keeps its place in its turn
      deleteExpired: async (now, limit) => deleteExpiredBatch.run(now, limit).changes,
      ...createSqliteDirectory<SessionRow>(db, { columns, fromRow: (row) => fromRow(row)! }), // the listings: stores/sqlite-directory.ts
    },
    { retryAsyncWhileBusyMs: options.busyTimeoutMs ?? 2000 },
  );
}
