/**
 * Exercise 4: a session store on a database many shops share — PostgreSQL.
 *
 * One row per session, as in exercise 2, but several shop processes now talk to one server over a
 * pool of connections, and every call is a network round trip: between your SELECT and your UPDATE,
 * another connection can run. A transaction alone does not stop that (PostgreSQL's default, READ
 * COMMITTED, lets two transactions read the same row); `SELECT … FOR UPDATE` does: it locks the row
 * until COMMIT, and a second `FOR UPDATE` on it waits, then reads the fresh row. The table and the
 * listings are given; write the parts marked TODO. Then:
 *
 *   npm run exercise -- 4            grade this file (starts a throwaway PostgreSQL cluster)
 *   SESSION_STORE=./exercises/04-postgres-store/start.ts DATABASE_URL=postgres://… npm start
 */
import type pg from "pg";
import type { ServerStore } from "../../src/session/directory.ts";
import type { StoredData, StoredSession } from "../../src/session/types.ts";
import type { StoreDeps } from "../../src/exercises/exercises.ts";

// bigint columns arrive as strings (they can exceed 2^53); epoch ms never do.
type Row = { key: string; data: string; user_id: number | null; created_at: string; last_seen_at: string; expires_at: string; user_agent: string | null };
const COLUMNS = "key, data, user_id, created_at, last_seen_at, expires_at, user_agent";
const fromRow = (r: Row): StoredSession => ({
  data: JSON.parse(r.data) as StoredData,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
  expiresAt: Number(r.expires_at),
  userAgent: r.user_agent,
});
const values = (key: string, s: StoredSession) => [key, JSON.stringify(s.data), s.userId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent];

/** Given: BEGIN, `work` on one connection of the pool, COMMIT — or ROLLBACK if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function createStore({ connectPostgres }: Pick<StoreDeps, "connectPostgres">): Promise<ServerStore> {
  const { pool } = await connectPostgres();
  // Given: the table. Times are bigint epoch ms; the index on expires_at serves the sweeper.
  await pool.query(`
    CREATE TABLE IF NOT EXISTS exercise_sessions (
      key text PRIMARY KEY, data text NOT NULL, user_id integer,
      created_at bigint NOT NULL, last_seen_at bigint NOT NULL, expires_at bigint NOT NULL, user_agent text);
    CREATE INDEX IF NOT EXISTS exercise_sessions_expires_at ON exercise_sessions (expires_at);
  `);
  const first = (rows: Row[]) => (rows[0] ? fromRow(rows[0]) : null);

  return {
    kind: "postgres",

    // TODO 1 (expiry): the row under $1 if expires_at > $2 (now), else null.
    async get(_key, _now) {
      throw new Error("TODO 1: get — SELECT the live row (expires_at > now), or null");
    },

    async peek(key) {
      return first((await pool.query<Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE key = $1`, [key])).rows);
    },

    async create(key, session) {
      // A plain INSERT: the PRIMARY KEY refuses a key that is taken (never ON CONFLICT … DO UPDATE).
      await pool.query(`INSERT INTO exercise_sessions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, values(key, session));
    },

    // TODO 2 (the heart of it): inTransaction(pool, async (client) => …): SELECT the live row … FOR
    // UPDATE (the lock: a second request's SELECT … FOR UPDATE waits here until you COMMIT, then reads
    // your result); none → return null and write nothing (no upsert: no resurrection); else apply
    // `change` and UPDATE. If `change` throws, inTransaction rolls back.
    async update(_key, _now, _change) {
      throw new Error("TODO 2: update — SELECT … FOR UPDATE, change, UPDATE, in one transaction; null when gone");
    },

    // TODO 3 (sign-in): the same lock on the row under `oldKey`, then ONE statement moves it:
    // UPDATE … SET key = newKey, … WHERE key = oldKey (a taken newKey makes it throw).
    async rekey(_oldKey, _newKey, _now, _change) {
      throw new Error("TODO 3: rekey — lock the old row, UPDATE its key and columns in one statement");
    },

    // TODO 4: one UPDATE … WHERE key = $3 AND last_seen_at < $1; true when it changed a row (rowCount).
    async touch(_key, _lastSeenAt, _expiresAt) {
      throw new Error("TODO 4: touch — a guarded UPDATE; true when a row changed");
    },

    async destroy(key) {
      await pool.query("DELETE FROM exercise_sessions WHERE key = $1", [key]);
    },

    // TODO 5 (the sweeper): DELETE at most $2 rows with expires_at <= $1 (PostgreSQL's DELETE has no
    // LIMIT: delete the keys a `SELECT key … LIMIT $2` finds), return how many (rowCount).
    async deleteExpired(_now, _limit) {
      throw new Error("TODO 5: deleteExpired — one batch of at most `limit` expired rows");
    },

    // Given: the listings for "your active sessions" and the instructor's dashboard.
    async listByUser(userId, now) {
      const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC`, [
        userId,
        now,
      ]);
      return rows.map((r) => ({ key: r.key, ...fromRow(r) }));
    },
    async destroyForUser(userId, { only, except }) {
      const result =
        only !== undefined
          ? await pool.query("DELETE FROM exercise_sessions WHERE user_id = $1 AND key = $2", [userId, only])
          : await pool.query("DELETE FROM exercise_sessions WHERE user_id = $1 AND key IS DISTINCT FROM $2", [userId, except ?? null]);
      return result.rowCount ?? 0;
    },
    async listAll(limit) {
      const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM exercise_sessions ORDER BY last_seen_at DESC LIMIT $1`, [limit]);
      return rows.map((r) => ({ key: r.key, ...fromRow(r) }));
    },
    async stats(now) {
      const { rows } = await pool.query<{ live: string; expired: string }>(
        "SELECT count(*) FILTER (WHERE expires_at > $1) AS live, count(*) FILTER (WHERE expires_at <= $1) AS expired FROM exercise_sessions",
        [now],
      );
      return { live: Number(rows[0]?.live ?? 0), expired: Number(rows[0]?.expired ?? 0) };
    },
  };
}
