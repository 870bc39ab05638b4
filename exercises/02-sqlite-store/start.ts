/**
 * Exercise 2: an SQLite session store — atomic change, no resurrection.
 *
 * One row per session in a table of your own, in the SQLite database you are given (better-sqlite3:
 * synchronous, so a transaction cannot be interrupted by another request of this process). The
 * table, the statements for reading and the listings are given; write the parts marked TODO. Then:
 *
 *   npm run exercise -- 2                       grade this file with the shop's store contract
 *   SESSION_STORE=./exercises/02-sqlite-store/start.ts npm start    shop on it (once it passes)
 *
 * Times are epoch milliseconds, always passed in. The README says what each part must do and why.
 */
import type { ServerStore } from "../../src/session/directory.ts";
import type { StoredData, StoredSession } from "../../src/session/types.ts";
import type { StoreDeps } from "../../src/exercises/exercises.ts";

type Row = { key: string; data: string; user_id: number | null; created_at: number; last_seen_at: number; expires_at: number; user_agent: string | null };

const fromRow = (r: Row): StoredSession => ({
  data: JSON.parse(r.data) as StoredData,
  userId: r.user_id,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  userAgent: r.user_agent,
});

export function createStore({ db }: Pick<StoreDeps, "db">): ServerStore {
  // Given: the table. STRICT (SQLite checks the types), the key is sha256(session ID), times are
  // INTEGER epoch ms (never text compared through datetime()), and an index on expires_at so the
  // sweeper finds expired rows without reading the whole table.
  db.exec(`
    CREATE TABLE IF NOT EXISTS exercise_sessions (
      key TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL, user_id INTEGER,
      created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, user_agent TEXT
    ) STRICT;
    CREATE INDEX IF NOT EXISTS exercise_sessions_expires_at ON exercise_sessions (expires_at);
  `);
  // Statements are prepared once, here, never per call.
  const COLUMNS = "key, data, user_id, created_at, last_seen_at, expires_at, user_agent";
  const selectAny = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE key = ?`);
  const insertRow = db.prepare<[string, string, number | null, number, number, number, string | null]>(
    `INSERT INTO exercise_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const deleteRow = db.prepare<[string]>("DELETE FROM exercise_sessions WHERE key = ?");
  const byUser = db.prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC`);
  const deleteOneOfUser = db.prepare<[number, string]>("DELETE FROM exercise_sessions WHERE user_id = ? AND key = ?");
  const deleteAllOfUserBut = db.prepare<[number, string | null]>("DELETE FROM exercise_sessions WHERE user_id = ? AND key IS NOT ?");
  const all = db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM exercise_sessions ORDER BY last_seen_at DESC LIMIT ?`);
  const counts = db.prepare<[number, number], { live: number; expired: number }>(
    "SELECT COUNT(*) FILTER (WHERE expires_at > ?) AS live, COUNT(*) FILTER (WHERE expires_at <= ?) AS expired FROM exercise_sessions",
  );
  const insert = (key: string, s: StoredSession) => insertRow.run(key, JSON.stringify(s.data), s.userId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent);

  // TODO 1: prepare the statements you need (a SELECT of a LIVE row: `expires_at > ?`; an UPDATE;
  // a guarded touch; the sweeper's batched DELETE). `db.transaction(fn).immediate()` runs `fn` inside
  // BEGIN IMMEDIATE … COMMIT (and ROLLBACK if it throws): the write lock is taken before the SELECT,
  // so no other connection can commit between your read and your write.

  return {
    kind: "sqlite",

    // TODO 2 (expiry): the row under `key` if it is still live at `now` (expires_at > now), else null.
    async get(_key, _now) {
      throw new Error("TODO 2: get — SELECT the live row (expires_at > now), or null");
    },

    async peek(key) {
      const row = selectAny.get(key);
      return row ? fromRow(row) : null;
    },

    async create(key, session) {
      insert(key, session); // the PRIMARY KEY refuses a key that is taken
    },

    // TODO 3 (the heart of it): in ONE immediate transaction: SELECT the live row; if none, return
    // null and write nothing (a request racing a sign-out must not bring the session back — so no
    // INSERT OR REPLACE, no upsert); else apply `change`, UPDATE the row, return the result.
    async update(_key, _now, _change) {
      throw new Error("TODO 3: update — SELECT live row, change, UPDATE, in one immediate transaction; null when gone");
    },

    // TODO 4 (sign-in): in one transaction: SELECT the live row under `oldKey` (null if none), apply
    // `change`, DELETE the old row and INSERT the result under `newKey`.
    async rekey(_oldKey, _newKey, _now, _change) {
      throw new Error("TODO 4: rekey — move the row to the new key in one transaction");
    },

    // TODO 5: one UPDATE that moves last_seen_at and expires_at only when the row exists AND the
    // stored last_seen_at is older (`AND last_seen_at < ?`). True when a row changed (`.changes`).
    async touch(_key, _lastSeenAt, _expiresAt) {
      throw new Error("TODO 5: touch — a guarded UPDATE; true when a row changed");
    },

    async destroy(key) {
      deleteRow.run(key);
    },

    // TODO 6 (the sweeper): delete at most `limit` rows with expires_at <= now, return how many.
    // SQLite's DELETE has no LIMIT by default: delete the keys a `SELECT key … LIMIT ?` finds.
    async deleteExpired(_now, _limit) {
      throw new Error("TODO 6: deleteExpired — one batch of at most `limit` expired rows");
    },

    // Given: the listings for "your active sessions" and the instructor's dashboard.
    async listByUser(userId, now) {
      return byUser.all(userId, now).map((r) => ({ key: r.key, ...fromRow(r) }));
    },
    async destroyForUser(userId, { only, except }) {
      return only !== undefined ? deleteOneOfUser.run(userId, only).changes : deleteAllOfUserBut.run(userId, except ?? null).changes;
    },
    async listAll(limit) {
      return all.all(limit).map((r) => ({ key: r.key, ...fromRow(r) }));
    },
    async stats(now) {
      const c = counts.get(now, now);
      return { live: c?.live ?? 0, expired: c?.expired ?? 0 };
    },
  };
}
