/**
 * Exercise 4's start file, solved — with the classic mistake: `update` reads with a plain SELECT
 * inside its transaction, without FOR UPDATE. At READ COMMITTED two transactions both read the cart,
 * both write their own version, and the later UPDATE wins: an add to cart is lost.
 * exercise-postgres-grader.test.ts proves the grader fails it for that reason, and only that.
 */
import type pg from "pg";
import type { ServerStore } from "../../session/directory.ts";
import type { StoredData, StoredSession } from "../../session/types.ts";
import type { StoreDeps } from "../exercises.ts";

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
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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
  const selectLive = `SELECT ${COLUMNS} FROM exercise_sessions WHERE key = $1 AND expires_at > $2`;

  return {
    kind: "postgres",

    async get(key, now) {
      return first((await pool.query<Row>(selectLive, [key, now])).rows);
    },

    async peek(key) {
      return first((await pool.query<Row>(`SELECT ${COLUMNS} FROM exercise_sessions WHERE key = $1`, [key])).rows);
    },

    async create(key, session) {
      // A plain INSERT: the PRIMARY KEY refuses a key that is taken (never ON CONFLICT … DO UPDATE).
      await pool.query(`INSERT INTO exercise_sessions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, values(key, session));
    },

    async update(key, now, change) {
      return inTransaction(pool, async (client) => {
        // THE MISTAKE: no FOR UPDATE — another transaction reads the same cart meanwhile, and the
        // later UPDATE overwrites the earlier one's add.
        const current = first((await client.query<Row>(selectLive, [key, now])).rows);
        if (!current) return null;
        // A request's own latency between its read and its write (100 ms: a slow link, a busy
        // process). Without it, a cold pool's connections can arrive one by one and the race may
        // not show on a given run; with FOR UPDATE the same pause loses nothing.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const next = change(current);
        await client.query("UPDATE exercise_sessions SET data = $2, user_id = $3, last_seen_at = $4, expires_at = $5 WHERE key = $1", [
          key,
          JSON.stringify(next.data),
          next.userId,
          next.lastSeenAt,
          next.expiresAt,
        ]);
        return next;
      });
    },

    async rekey(oldKey, newKey, now, change) {
      return inTransaction(pool, async (client) => {
        const current = first((await client.query<Row>(`${selectLive} FOR UPDATE`, [oldKey, now])).rows);
        if (!current) return null;
        const next = change(current);
        await client.query(
          "UPDATE exercise_sessions SET key = $2, data = $3, user_id = $4, created_at = $5, last_seen_at = $6, expires_at = $7, user_agent = $8 WHERE key = $1",
          [oldKey, ...values(newKey, next)],
        );
        return next;
      });
    },

    async touch(key, lastSeenAt, expiresAt) {
      const result = await pool.query("UPDATE exercise_sessions SET last_seen_at = $1, expires_at = $2 WHERE key = $3 AND last_seen_at < $1", [
        lastSeenAt,
        expiresAt,
        key,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async destroy(key) {
      await pool.query("DELETE FROM exercise_sessions WHERE key = $1", [key]);
    },

    async deleteExpired(now, limit) {
      const result = await pool.query("DELETE FROM exercise_sessions WHERE key IN (SELECT key FROM exercise_sessions WHERE expires_at <= $1 LIMIT $2)", [
        now,
        limit,
      ]);
      return result.rowCount ?? 0;
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
