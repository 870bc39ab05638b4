/**
 * Exercise 2's start file, solved — with the classic mistake: `update` is an upsert (INSERT OR
 * REPLACE on whatever row there is, or a fresh one). It is atomic, so no add to cart is lost, but a
 * request that finishes after sign-out writes the session back: the signed-out session lives again.
 * exercise-graders.test.ts proves the grader fails it for that reason, and only that.
 */
import type { ServerStore } from "../../session/directory.ts";
import type { StoredData, StoredSession } from "../../session/types.ts";
import type { StoreDeps } from "../exercises.ts";

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
  db.exec(`
    CREATE TABLE IF NOT EXISTS exercise_sessions (
      key TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL, user_id INTEGER,
      created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, user_agent TEXT
    ) STRICT;
    CREATE INDEX IF NOT EXISTS exercise_sessions_expires_at ON exercise_sessions (expires_at);
  `);
  const COLUMNS = "key, data, user_id, created_at, last_seen_at, expires_at, user_agent";
  const selectAny = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE key = ?`);
  const selectLive = db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE key = ? AND expires_at > ?`);
  const insertRow = db.prepare<[string, string, number | null, number, number, number, string | null]>(
    `INSERT INTO exercise_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertRow = db.prepare<[string, string, number | null, number, number, number, string | null]>(
    `INSERT OR REPLACE INTO exercise_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const deleteRow = db.prepare<[string]>("DELETE FROM exercise_sessions WHERE key = ?");
  const touchRow = db.prepare<[number, number, string, number]>(
    "UPDATE exercise_sessions SET last_seen_at = ?, expires_at = ? WHERE key = ? AND last_seen_at < ?",
  );
  const sweep = db.prepare<[number, number]>("DELETE FROM exercise_sessions WHERE key IN (SELECT key FROM exercise_sessions WHERE expires_at <= ? LIMIT ?)");
  const byUser = db.prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC`);
  const deleteOneOfUser = db.prepare<[number, string]>("DELETE FROM exercise_sessions WHERE user_id = ? AND key = ?");
  const deleteAllOfUserBut = db.prepare<[number, string | null]>("DELETE FROM exercise_sessions WHERE user_id = ? AND key IS NOT ?");
  const all = db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM exercise_sessions ORDER BY last_seen_at DESC LIMIT ?`);
  const counts = db.prepare<[number, number], { live: number; expired: number }>(
    "SELECT COUNT(*) FILTER (WHERE expires_at > ?) AS live, COUNT(*) FILTER (WHERE expires_at <= ?) AS expired FROM exercise_sessions",
  );
  const write = (statement: typeof insertRow, key: string, s: StoredSession) =>
    statement.run(key, JSON.stringify(s.data), s.userId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent);
  const inTransaction = <T>(work: () => T): T => db.transaction(work).immediate();
  const live = (key: string, now: number) => {
    const row = selectLive.get(key, now);
    return row ? fromRow(row) : null;
  };

  return {
    kind: "sqlite",
    get: async (key, now) => live(key, now),
    peek: async (key) => {
      const row = selectAny.get(key);
      return row ? fromRow(row) : null;
    },
    create: async (key, session) => {
      write(insertRow, key, session);
    },
    update: async (key, now, change) =>
      inTransaction(() => {
        // THE MISTAKE: any row or a fresh one, then INSERT OR REPLACE — a gone session is written back.
        const row = selectAny.get(key);
        const current: StoredSession = row
          ? fromRow(row)
          : { data: { cart: [] }, userId: null, createdAt: now, lastSeenAt: now, expiresAt: now, userAgent: null };
        const next = change(current);
        write(upsertRow, key, next);
        return next;
      }),
    rekey: async (oldKey, newKey, now, change) =>
      inTransaction(() => {
        const current = live(oldKey, now);
        if (!current) return null;
        const next = change(current);
        deleteRow.run(oldKey);
        write(insertRow, newKey, next);
        return next;
      }),
    touch: async (key, lastSeenAt, expiresAt) => touchRow.run(lastSeenAt, expiresAt, key, lastSeenAt).changes > 0,
    destroy: async (key) => {
      deleteRow.run(key);
    },
    deleteExpired: async (now, limit) => sweep.run(now, limit).changes,
    listByUser: async (userId, now) => byUser.all(userId, now).map((r) => ({ key: r.key, ...fromRow(r) })),
    destroyForUser: async (userId, { only, except }) =>
      only !== undefined ? deleteOneOfUser.run(userId, only).changes : deleteAllOfUserBut.run(userId, except ?? null).changes,
    listAll: async (limit) => all.all(limit).map((r) => ({ key: r.key, ...fromRow(r) })),
    stats: async (now) => {
      const c = counts.get(now, now);
      return { live: c?.live ?? 0, expired: c?.expired ?? 0 };
    },
  };
}
