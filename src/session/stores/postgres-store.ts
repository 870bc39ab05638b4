/**
 * The PostgreSQL session store (SESSION_STORE=postgres): the same row as SQLite's, in a database
 * that many machines share (db/migrations-postgres/001). Keyed by sha256(ID); `data` is the sealed
 * blob storage.ts hands us. Each method below is its SQL; deadlines, the pool and the translation of
 * "server not there" into the 503 live in src/db/pg-runner.ts, around it.
 *
 * Concurrency: a short `SELECT … FOR UPDATE` transaction, chosen over a version column.
 *   BEGIN; SELECT … WHERE id_hash = $1 AND <live> FOR UPDATE; -- change(current), in JS; UPDATE …; COMMIT
 * - The change runs exactly once, on the freshest row, while the row lock keeps every other
 *   instance's write to that session waiting: nothing is lost between instances, and checkout's
 *   `once` (its change places the order) needs no second path. A version column with a conditional
 *   `UPDATE … WHERE version = $v RETURNING` would take one round trip less, but on a conflict the
 *   change must run again, so `once` would need this transaction anyway: two schemes to read.
 * - The lock is held for the store call only (four round trips, microseconds of JS), never for a
 *   request. A holder that freezes (a paused instance) is cut off by the server after
 *   idle_in_transaction_session_timeout (= the deadline): its lock is released, its late COMMIT
 *   fails, and the waiters, bounded by lock_timeout, get a 503 rather than waiting forever.
 * - No resurrection: nothing here upserts. An update or rekey whose row is gone (logged out,
 *   expired, swept) finds no row to lock and returns null; a DELETE that raced it waited for the lock
 *   and then deleted. Rekey is one UPDATE of the key, so the new ID is born in the statement the old
 *   one dies in, and only while the old row exists.
 *
 * Whose clock: expiry is checked on every read against greatest(the caller's now, the database's
 * clock_timestamp()). The database's clock is the floor: an instance whose clock runs behind cannot
 * keep a session alive; the caller's clock can only end a session sooner (the tests' manual clock,
 * the classroom's fast-forward). Times are stored as epoch ms (bigint), as in SQLite.
 */
import type { PgRunner, Query } from "../../db/pg-runner.ts";
import type { ServerStore } from "../directory.ts";
import type { StoredData, StoredSession } from "../types.ts";

type SessionRow = { data: string; user_id: number | null; created_at: string; last_seen_at: string; expires_at: string; user_agent: string | null };
type ListedRow = SessionRow & { id_hash: string };

const COLUMNS = "data, user_id, created_at, last_seen_at, expires_at, user_agent";
/** The database's clock in epoch ms; `$n` is the caller's: the later of the two decides. */
const nowMs = (param: string) => `greatest(${param}::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)`;

// bigint arrives as a string (it can exceed 2^53); epoch ms never do.
const fromRow = (r: SessionRow): StoredSession => ({
  data: JSON.parse(r.data) as StoredData,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
  expiresAt: Number(r.expires_at),
  userAgent: r.user_agent,
});
const listed = (r: ListedRow) => ({ key: r.id_hash, ...fromRow(r) });

export function createPostgresStore(db: PgRunner): ServerStore {
  const selectLive = `SELECT ${COLUMNS} FROM sessions WHERE id_hash = $1 AND expires_at > ${nowMs("$2")}`;
  const first = async (rows: Promise<SessionRow[]>) => {
    const [row] = await rows;
    return row ? fromRow(row) : null;
  };
  const lockLive = (q: Query, key: string, now: number) => first(q<SessionRow>(`${selectLive} FOR UPDATE`, [key, now]));

  return {
    kind: "postgres",
    get: (key, now) => first(db.query<SessionRow>(selectLive, [key, now])),
    peek: (key) => first(db.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE id_hash = $1`, [key])),
    async create(key, s) {
      // A plain INSERT: a key that exists is a collision (a bug) and throws, never overwrites.
      await db.query(`INSERT INTO sessions (id_hash, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        key,
        JSON.stringify(s.data),
        s.userId,
        s.createdAt,
        s.lastSeenAt,
        s.expiresAt,
        s.userAgent,
      ]);
    },
    update: (key, now, change) =>
      db.transaction(async (q) => {
        const current = await lockLive(q, key, now);
        if (!current) return null; // gone or expired: never re-created
        const next = change(current); // throws → ROLLBACK: nothing written
        await q("UPDATE sessions SET data = $2, user_id = $3, last_seen_at = $4, expires_at = $5 WHERE id_hash = $1", [
          key,
          JSON.stringify(next.data),
          next.userId,
          next.lastSeenAt,
          next.expiresAt,
        ]);
        return next;
      }),
    rekey: (oldKey, newKey, now, change) =>
      db.transaction(async (q) => {
        const current = await lockLive(q, oldKey, now);
        if (!current) return null;
        const next = change(current);
        // One statement moves the row: the old ID dies as the new one is born (a taken newKey throws).
        await q(
          "UPDATE sessions SET id_hash = $2, data = $3, user_id = $4, created_at = $5, last_seen_at = $6, expires_at = $7, user_agent = $8 WHERE id_hash = $1",
          [oldKey, newKey, JSON.stringify(next.data), next.userId, next.createdAt, next.lastSeenAt, next.expiresAt, next.userAgent],
        );
        return next;
      }),
    async touch(key, lastSeenAt, expiresAt) {
      // Never backwards (two requests may finish in either order), never a session already dead by the database's clock.
      const rows = await db.query(
        `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1 AND last_seen_at < $2 AND expires_at > ${nowMs("0")} RETURNING 1`,
        [key, lastSeenAt, expiresAt],
      );
      return rows.length > 0;
    },
    async destroy(key) {
      await db.query("DELETE FROM sessions WHERE id_hash = $1", [key]);
    },
    async deleteExpired(now, limit) {
      // One batch, committed on its own. SKIP LOCKED: two sweepers (two instances) take disjoint rows,
      // never wait on each other, never deadlock. MATERIALIZED: the batch is chosen once, so the
      // DELETE removes at most `limit` rows (inlined, the subquery could run again and pick more).
      const [row] = await db.query<{ n: number }>(
        `WITH batch AS MATERIALIZED (
           SELECT id_hash FROM sessions WHERE expires_at <= ${nowMs("$1")} ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         gone AS (DELETE FROM sessions s USING batch WHERE s.id_hash = batch.id_hash RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [now, limit],
      );
      return row?.n ?? 0;
    },
    // The listings (directory.ts): the account page and the instructor's table.
    async listByUser(userId, now) {
      const rows = await db.query<ListedRow>(
        `SELECT id_hash, ${COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > ${nowMs("$2")} ORDER BY last_seen_at DESC`,
        [userId, now],
      );
      return rows.map(listed);
    },
    async destroyForUser(userId, { only, except }) {
      const rows =
        only !== undefined
          ? await db.query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2 RETURNING 1", [userId, only])
          : await db.query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 RETURNING 1", [userId, except ?? ""]);
      return rows.length;
    },
    async listAll(limit) {
      return (await db.query<ListedRow>(`SELECT id_hash, ${COLUMNS} FROM sessions ORDER BY last_seen_at DESC LIMIT $1`, [limit])).map(listed);
    },
    async stats(now) {
      const [row] = await db.query<{ live: number; expired: number }>(
        `SELECT count(*) FILTER (WHERE expires_at > ${nowMs("$1")})::int AS live, count(*) FILTER (WHERE expires_at <= ${nowMs("$1")})::int AS expired FROM sessions`,
        [now],
      );
      return row ?? { live: 0, expired: 0 };
    },
  };
}
