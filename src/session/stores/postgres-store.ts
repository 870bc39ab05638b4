/**
 * The PostgreSQL session store (SESSION_STORE=postgres): the same row as SQLite's, in a database
 * that many machines share (db/migrations-postgres/001, and 101 for `version`). Keyed by
 * sha256(ID); `data` is the sealed blob storage.ts hands us. Each method below is its SQL;
 * deadlines, the pool and the translation of "server not there" into the 503 live in
 * src/db/pg-runner.ts, around it.
 *
 * Concurrency: one conditional UPDATE, and a short locked transaction when it misses.
 *
 * The one-statement write (every update of a row this instance has just read): the request's own
 * `get` returned the row with its `version`, and this instance remembers both. `change` runs on
 * that copy, and the result is sent as ONE statement, which is its own commit:
 *   UPDATE sessions SET data = …, version = version + 1 WHERE id_hash = $1 AND version = $v AND <live> RETURNING version
 * In READ COMMITTED a blocked UPDATE waits for the other writer, then re-checks its WHERE on the
 * row as that writer left it: so this is an atomic compare-and-set. One row back: written, on the
 * freshest row (nobody wrote since our read). Zero rows: another write landed meanwhile (a newer
 * version, on any instance), or the row is gone or expired by the database's clock: nothing is
 * written, the result of `change` is discarded, and the locked path below decides.
 *
 * The locked path (rekey, an update with `once`, a row this instance does not remember, and every
 * miss of the one statement): `BEGIN; SELECT … FOR UPDATE; -- change(current), in JS; UPDATE …; COMMIT`.
 * `change` runs exactly once, on the freshest row, and only after PostgreSQL has answered; the row
 * lock keeps every other write to that session waiting meanwhile. A row that is gone is found
 * gone: null, never re-created.
 *
 * Why two schemes rather than one. The locked transaction alone is four round trips per write (five
 * statements per add to cart with the request's read, two now); in the full shop the one statement
 * saves ≈ 150 µs of the shop's CPU and ≈ 120 µs of PostgreSQL's per add (bench/pg-write.ts,
 * docs/performance.md). The conditional UPDATE alone cannot serve checkout: its `change` places the
 * order (in SQLite), so it must run exactly once, and not before the session store has answered (a
 * frozen server would get the order placed, then a 503). Optimistically, `change` runs before the
 * write, and again after a miss. So `once` (types.ts) always takes the locked path, and any other
 * `change` may run twice (it is pure: a discarded run leaves no trace).
 *
 * What neither path ever does:
 * - upsert: an UPDATE that finds no row writes nothing (a request racing a logout cannot revive it);
 * - lose a change: a write lands only on the version its change was computed from, or under the lock;
 * - hold a lock across a request: the lock lives for one store call, and a holder that freezes (a
 *   paused instance) is cut off by the server after idle_in_transaction_session_timeout (= the
 *   deadline): its lock is released, its late COMMIT fails, and the waiters, bounded by
 *   lock_timeout, get a 503 rather than waiting forever. A one-statement write held on a frozen link
 *   can still land after its 503 (like a COMMIT whose reply was lost), but only on the exact version
 *   it was computed from: if anything was written since, it changes nothing.
 * Rekey is one UPDATE of the key, so the new ID is born in the statement the old one dies in, and
 * only while the old row exists.
 *
 * What is remembered: per key, the row (its text) and version last read or written here, at most
 * `rememberKeys` of them and 16 MiB of text, least recently used out first. Only ever a hint: a stale
 * entry (another instance wrote since) makes the one statement miss, never write. Nothing remembered
 * (`rememberBytes: 0`, the speed-up switched off in technique.ts): every update takes the locked path.
 *
 * Whose clock: expiry is checked on every read and write against greatest(the caller's now, the
 * database's clock_timestamp()). The database's clock is the floor: an instance whose clock runs
 * behind cannot keep a session alive; the caller's clock can only end a session sooner (the tests'
 * manual clock, the classroom's fast-forward). Times are stored as epoch ms (bigint), as in SQLite.
 */
import type { PgRunner, Query } from "../../db/pg-runner.ts";
import { StoreUnavailableError } from "../../errors.ts";
import type { ServerStore } from "../directory.ts";
import { bounded } from "../speed/bounded.ts";
import type { StoredData, StoredSession } from "../types.ts";

type SessionRow = { data: string; user_id: number | null; created_at: string; last_seen_at: string; expires_at: string; user_agent: string | null };
type ListedRow = SessionRow & { id_hash: string };
/** A row as read or written, with its version: what a one-statement write compares against. */
type VersionedRow = SessionRow & { version: string };

/** The remembered rows' text may hold at most this much (UTF-16: 2 bytes a character), as the Redis store's JSON. */
export const REMEMBERED_ROWS_MAX_BYTES = 16 * 1024 * 1024;

export interface PostgresStoreOptions {
  /** How many rows (text and version) this instance remembers for one-statement writes. */
  rememberKeys?: number;
  /** How many bytes of their text it may hold in all; 0: nothing remembered, every update takes the locked path. */
  rememberBytes?: number;
}

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
/** What a write sent, as the row it left (times as text, like a read's). */
const toRow = (s: StoredSession, version: string): VersionedRow => ({
  data: JSON.stringify(s.data),
  user_id: s.userId,
  created_at: String(s.createdAt),
  last_seen_at: String(s.lastSeenAt),
  expires_at: String(s.expiresAt),
  user_agent: s.userAgent,
  version,
});
const listed = (r: ListedRow) => ({ key: r.id_hash, ...fromRow(r) });

type Change = (current: StoredSession) => StoredSession;
/** The one statement missed (or could not be tried): the locked path decides. */
const LOCKED = Symbol("locked path");

export function createPostgresStore(
  db: PgRunner,
  { rememberKeys = 10_000, rememberBytes = REMEMBERED_ROWS_MAX_BYTES }: PostgresStoreOptions = {},
): ServerStore {
  const selectLive = `SELECT ${COLUMNS}, version FROM sessions WHERE id_hash = $1 AND expires_at > ${nowMs("$2")}`;
  const lockLive = async (q: Query, key: string, now: number) => (await q<VersionedRow>(`${selectLive} FOR UPDATE`, [key, now]))[0];

  // The row each key last had here, as text (a fresh object per use: nothing a caller does to a
  // record it was given can change what a later write starts from). Bounded in entries and bytes
  // (the speed-ups' one bounded map), the least recently used first out.
  const seen = bounded<string, VersionedRow>(rememberKeys, {
    maxBytes: rememberBytes,
    sizeOf: (row) => (row.data.length + (row.user_agent?.length ?? 0) + 100) * 2,
  });
  const remember = (key: string, row: VersionedRow | undefined) => (row ? seen.set(key, row) : seen.delete(key));

  /** `change` on the remembered row, written by one conditional UPDATE if nobody wrote since. */
  async function oneStatement(key: string, base: VersionedRow, now: number, change: Change): Promise<StoredSession | typeof LOCKED> {
    const current = fromRow(base);
    // Expired by our copy: only the fresh row can tell whether another instance kept it alive.
    if (current.expiresAt <= now) return LOCKED;
    let next: StoredSession;
    try {
      next = change(current);
    } catch {
      return LOCKED; // a refusal must rest on the freshest row, not on a copy that may be outdated
    }
    const row = toRow(next, base.version);
    const [written] = await db.query<{ version: string }>(
      `UPDATE sessions SET data = $2, user_id = $3, last_seen_at = $4, expires_at = $5, version = version + 1
       WHERE id_hash = $1 AND version = $6 AND expires_at > ${nowMs("$7")} RETURNING version`,
      [key, row.data, next.userId, next.lastSeenAt, next.expiresAt, base.version, now],
    );
    if (!written) return LOCKED; // written meanwhile, or gone: `next` is discarded
    remember(key, { ...row, version: written.version });
    return next;
  }

  /** The locked path: `change` exactly once, on the freshest row, under its lock. */
  async function lockedUpdate(key: string, now: number, change: Change): Promise<StoredSession | null> {
    const result = await db.transaction(async (q) => {
      const row = await lockLive(q, key, now);
      if (!row) return null; // gone or expired: never re-created
      const next = change(fromRow(row)); // throws → ROLLBACK: nothing written
      const [written] = await q<{ version: string }>(
        "UPDATE sessions SET data = $2, user_id = $3, last_seen_at = $4, expires_at = $5, version = version + 1 WHERE id_hash = $1 RETURNING version",
        [key, JSON.stringify(next.data), next.userId, next.lastSeenAt, next.expiresAt],
      );
      return { next, version: written!.version };
    });
    remember(key, result ? toRow(result.next, result.version) : undefined);
    return result?.next ?? null;
  }

  return {
    kind: "postgres",
    async get(key, now) {
      const [row] = await db.query<VersionedRow>(selectLive, [key, now]);
      remember(key, row); // what this request's write will compare against
      return row ? fromRow(row) : null;
    },
    async peek(key) {
      const [row] = await db.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE id_hash = $1`, [key]);
      return row ? fromRow(row) : null;
    },
    async create(key, s) {
      // A plain INSERT: a key that exists is a collision (a bug) and throws, never overwrites.
      const row = toRow(s, "0");
      await db.query(`INSERT INTO sessions (id_hash, ${COLUMNS}, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`, [
        key,
        row.data,
        s.userId,
        s.createdAt,
        s.lastSeenAt,
        s.expiresAt,
        s.userAgent,
      ]);
      remember(key, row);
    },
    async update(key, now, change, options) {
      try {
        const base = options?.once ? undefined : seen.get(key);
        if (base) {
          const done = await oneStatement(key, base, now, change);
          if (done !== LOCKED) return done;
        }
        return await lockedUpdate(key, now, change);
      } catch (error) {
        // The outcome is unknown (a timeout may hide a write that landed): the next write starts from a fresh read.
        if (error instanceof StoreUnavailableError) remember(key, undefined);
        throw error;
      }
    },
    async rekey(oldKey, newKey, now, change) {
      remember(oldKey, undefined); // moved, or unknown after a failure
      const result = await db.transaction(async (q) => {
        const row = await lockLive(q, oldKey, now);
        if (!row) return null;
        const next = change(fromRow(row));
        // One statement moves the row: the old ID dies as the new one is born (a taken newKey throws).
        const [written] = await q<{ version: string }>(
          "UPDATE sessions SET id_hash = $2, data = $3, user_id = $4, created_at = $5, last_seen_at = $6, expires_at = $7, user_agent = $8, version = version + 1 WHERE id_hash = $1 RETURNING version",
          [oldKey, newKey, JSON.stringify(next.data), next.userId, next.createdAt, next.lastSeenAt, next.expiresAt, next.userAgent],
        );
        return { next, version: written!.version };
      });
      if (result) remember(newKey, toRow(result.next, result.version));
      return result?.next ?? null;
    },
    async touch(key, lastSeenAt, expiresAt) {
      // Never backwards (two requests may finish in either order), never a session already dead by the database's clock.
      // The version stays: a touch moves only the times, which every write sets afresh anyway.
      const rows = await db.query(
        `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1 AND last_seen_at < $2 AND expires_at > ${nowMs("0")} RETURNING 1`,
        [key, lastSeenAt, expiresAt],
      );
      return rows.length > 0;
    },
    async destroy(key) {
      remember(key, undefined);
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
