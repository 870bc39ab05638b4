/**
 * A small in-process cache of recently read rows, for the SQLite store's reads (issue 16, item 3).
 *
 * A read that hits it skips the SELECT (and the read transaction around it). The danger of any
 * cache in front of a shared database is serving a row that is no longer there: a session that was
 * logged out, swept or deleted with its user would come back to life. Two guards make that
 * impossible, and the cache is dropped whenever one of them cannot tell:
 *
 * 1. Other connections (another process on the same file, another connection in this one):
 *    `PRAGMA data_version` changes whenever one of them has committed. It is checked on every
 *    read; when it has moved, the whole cache is forgotten.
 * 2. This connection's own writes do not move data_version. So TEMP triggers (they exist only on
 *    this connection) on every INSERT, UPDATE and DELETE of the table call a function registered
 *    on this connection that forgets the row's key. That covers what the store does itself, and
 *    what it does not know about: a raw DELETE, the ON DELETE CASCADE when a user is deleted (SQLite
 *    fires row triggers for foreign-key actions), the cleanup sweep. A key is forgotten inside
 *    the writing transaction; if that rolls back, the next read simply loads the row again.
 *
 * Rows are only remembered when read outside a transaction (what was read inside one may still be
 * rolled back), and at most `max` of them, the least recently used going first.
 *
 * Written rows too (`wrote`), so the read that follows a write (the next page of that shopper) finds
 * its row without a SELECT. A row written inside a transaction is only *staged*: the same triggers
 * that forget a key also drop it from the stage (a later DELETE or UPDATE of that key in the same
 * transaction, a cascade), and the stage is kept only once that transaction has committed
 * (`settle(true)`, called by the group commit after its COMMIT); a rollback throws it away. So the
 * cache never holds a row the database does not: a logout queued after an add in the same group
 * still leaves no row behind, in the table or here.
 */
import type { Db } from "../../db/open.ts";
import { deepFreeze } from "../seal-cache.ts";
import type { StoredData, StoredSession } from "../types.ts";

/**
 * The SQLite store's budget in bytes (issue 29): an ordinary record takes about 0.5 KB here (the
 * frozen record, its sealed text, the user agent: bench/cache-memory.ts), so 10,000 fit in 5 MB; the
 * largest cart's takes 20 KB, and 10,000 of those would take 200 MB. Counted as its strings + 256 B.
 */
export const READ_CACHE_MAX_BYTES = 16 * 1024 * 1024;
export const RECORD_BYTES = {
  maxBytes: READ_CACHE_MAX_BYTES,
  sizeOf: (s: StoredSession) => 256 + ("sealed" in s.data ? s.data.sealed.length : 2 * JSON.stringify(s.data).length) + (s.userAgent?.length ?? 0),
};

/**
 * A frozen copy of a record, for the caches that hand one object to every request: the caller's
 * own objects are left as they were. Sealed data is one string; a plaintext (legacy) cart is cloned.
 */
export const frozenCopy = (s: StoredSession): StoredSession => {
  const data: StoredData = "sealed" in s.data ? { sealed: s.data.sealed } : structuredClone(s.data);
  return deepFreeze({ ...s, data });
};

export interface RecordCache<Row> {
  /** The row read through `load`, from memory while nothing can have changed it. */
  read(key: string, load: () => Row | undefined): Row | undefined;
  /** This connection has just written `row` under `key`, inside the current transaction: remember it once that commits. */
  wrote<R extends Row>(key: string, row: R): R;
  /** The transaction of the staged rows ended: committed (remember them) or not (forget them). */
  settle(committed: boolean): void;
  readonly size: number;
  /** What `sizeOf` counted for the rows remembered (0 without it). */
  readonly bytes: number;
}

let caches = 0;

/**
 * `max` rows at most and, given `sizeOf` (an estimate of a row's bytes), `maxBytes` in all: rows vary
 * in size (a cart of 60 lines with gift notes is a hundred times an ordinary one), so a count alone
 * does not bound the memory (issue 29). A row larger than the whole budget is not remembered.
 */
export function createRecordCache<Row>(
  db: Db,
  options: { table: string; keyColumn: string; max: number; maxBytes?: number; sizeOf?: (row: Row) => number },
): RecordCache<Row> {
  const { table, keyColumn, max, maxBytes = Number.POSITIVE_INFINITY, sizeOf = () => 0 } = options;
  if (max <= 0) return { read: (_key, load) => load(), wrote: (_key, row) => row, settle() {}, size: 0, bytes: 0 }; // no cache: every read is a SELECT
  const rows = new Map<string, Row>();
  const sizes = new Map<string, number>(); // what sizeOf counted for each remembered row
  let bytes = 0;
  const staged = new Map<string, Row>();
  const drop = (key: string) => {
    rows.delete(key);
    bytes -= sizes.get(key) ?? 0;
    sizes.delete(key);
  };
  const remember = (key: string, row: Row) => {
    drop(key);
    const size = sizeOf(row);
    if (size > maxBytes) return;
    while (rows.size > 0 && (rows.size >= max || bytes + size > maxBytes)) drop(rows.keys().next().value as string);
    rows.set(key, row);
    sizes.set(key, size);
    bytes += size;
  };
  const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  let seenVersion = dataVersion.get();

  // One function and three triggers per cache: two stores on one connection each keep their own.
  const forget = `forget_cached_${table}_${++caches}`;
  db.function(forget, { deterministic: false, varargs: false }, (key: unknown) => {
    drop(String(key));
    staged.delete(String(key));
    return null;
  });
  const key = (row: "OLD" | "NEW") => `${row}.${keyColumn}`;
  for (const [event, body] of [
    ["insert", `SELECT ${forget}(${key("NEW")});`],
    ["update", `SELECT ${forget}(${key("OLD")}); SELECT ${forget}(${key("NEW")}) WHERE ${key("NEW")} IS NOT ${key("OLD")};`],
    ["delete", `SELECT ${forget}(${key("OLD")});`],
  ] as const) {
    db.exec(`CREATE TEMP TRIGGER ${forget}_${event} AFTER ${event.toUpperCase()} ON main.${table} BEGIN ${body} END`);
  }

  return {
    read(key, load) {
      const version = dataVersion.get();
      if (version !== seenVersion) {
        rows.clear(); // another connection committed: anything may have changed
        sizes.clear();
        bytes = 0;
        seenVersion = version;
      }
      const cached = rows.get(key);
      if (cached !== undefined) {
        rows.delete(key); // most recently used goes last
        rows.set(key, cached);
        return cached;
      }
      const row = load();
      if (row !== undefined && !db.inTransaction) remember(key, deepFreeze(row)); // one object for every request: frozen
      return row;
    },
    wrote(key, row) {
      // Outside a transaction there is nothing to wait for; the write's own trigger has already run.
      if (db.inTransaction) staged.set(key, row);
      else remember(key, row);
      return row;
    },
    settle(committed) {
      if (committed) for (const [key, row] of staged) remember(key, row);
      staged.clear();
    },
    get size() {
      return rows.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
