/**
 * The SQLite session store: one row per session in the `sessions` table (db/migrations/003).
 *
 * Every statement is prepared once, here, not per request. Reads filter on expires_at, so a
 * stale row is never returned even before the cleanup job has removed it. A write is one
 * IMMEDIATE transaction: BEGIN IMMEDIATE takes the write lock before the SELECT, so a
 * read-modify-write cannot interleave with another request of this process (better-sqlite3 is
 * synchronous) nor of another process sharing the file; then UPDATE, then COMMIT.
 *
 * What this file leaves to technique.ts, which composes the store: the writes of one event-loop
 * turn sharing one commit (db/group-commit.ts, passed in as `transaction`), waiting out another
 * connection's lock and turning SQLite's "not now" errors into a 503 (db/unavailable.ts), and the
 * listings (sqlite-directory.ts).
 *
 * Trade-off: the methods are async to fit the contract (Redis needs it), but do their work
 * synchronously inside; a query here blocks the event loop for microseconds, not milliseconds.
 */
import type { Db } from "../../db/open.ts";
import type { SessionStore, StoredData, StoredSession } from "../types.ts";

export type SessionRow = { data: string; user_id: number | null; created_at: number; last_seen_at: number; expires_at: number; user_agent: string | null };
export const SESSION_COLUMNS = "data, user_id, created_at, last_seen_at, expires_at, user_agent";

export const fromRow = (r: SessionRow): StoredSession => {
  const { user_id: userId, created_at: createdAt, last_seen_at: lastSeenAt, expires_at: expiresAt, user_agent: userAgent } = r;
  return { data: JSON.parse(r.data) as StoredData, userId, createdAt, lastSeenAt, expiresAt, userAgent };
};

/** Runs `work` inside one write transaction and answers once it has committed. */
export type Transaction = <T>(work: () => T) => T | Promise<T>;

export function createSqliteStore(db: Db, options: { transaction?: Transaction } = {}): SessionStore {
  const selectLive = db.prepare<[string, number], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = ? AND expires_at > ?`);
  const selectAny = db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = ?`);
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

  // BEGIN IMMEDIATE … COMMIT around `work`; ROLLBACK if it throws (better-sqlite3's transaction function).
  const immediate = db.transaction((work: () => unknown) => work());
  const transaction: Transaction = options.transaction ?? (<T>(work: () => T) => immediate.immediate(work) as T);

  const live = (key: string, now: number) => {
    const row = selectLive.get(key, now);
    return row ? fromRow(row) : null;
  };
  const insert = (key: string, s: StoredSession) => {
    insertRow.run(key, JSON.stringify(s.data), s.userId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent);
  };

  return {
    kind: "sqlite",
    get: async (key, now) => live(key, now),
    peek: async (key) => {
      const row = selectAny.get(key);
      return row ? fromRow(row) : null;
    },
    create: async (key, session) => {
      await transaction(() => insert(key, session));
    },
    update: async (key, now, change) =>
      transaction(() => {
        const current = live(key, now); // under the write lock: no other connection can commit meanwhile
        if (!current) return null; // gone (logged out, expired, swept): never re-create it
        const next = change(current);
        updateRow.run(JSON.stringify(next.data), next.userId, next.lastSeenAt, next.expiresAt, key);
        return next;
      }),
    rekey: async (oldKey, newKey, now, change) =>
      transaction(() => {
        const current = live(oldKey, now);
        if (!current) return null;
        const next = change(current);
        deleteRow.run(oldKey); // the old ID dies in the same commit the new one is born
        insert(newKey, next);
        return next;
      }),
    touch: async (key, lastSeenAt, expiresAt) => touchRow.run(lastSeenAt, expiresAt, key, lastSeenAt).changes > 0,
    destroy: async (key) => {
      await transaction(() => deleteRow.run(key)); // in the write queue: a logout keeps its place among the writes
    },
    deleteExpired: async (now, limit) => deleteExpiredBatch.run(now, limit).changes,
  };
}
