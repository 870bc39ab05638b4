/**
 * Sql: the one small interface the shop's data-access modules (catalog, users, orders, saved carts,
 * instructor passes, the labs) are written against, once, for both databases:
 *
 *   all(sql, params)  → every row       get(sql, params) → the first row or undefined
 *   run(sql, params)  → rows changed    transaction(work) → work's result, all or nothing
 *
 * SQL is written once, in the subset both dialects share, with `?` placeholders. Why our own ten
 * lines and not a query builder (Kysely, Knex): the class reads these modules, and a SELECT it can
 * paste into `sqlite3` or `psql` teaches more than a chain of method calls that builds one; the
 * shop's queries are few and fixed, so a builder's strength (composing queries) buys nothing here.
 *
 * Where the dialects differ, the difference lives in this file and nowhere else:
 *  - placeholders: `?` as written for SQLite; numbered `$1, $2 …` for PostgreSQL (toPostgres);
 *  - BEGIN IMMEDIATE (SQLite: take the write lock before the first read) vs BEGIN (PostgreSQL: row
 *    locks, taken by the statements themselves);
 *  - int8: `pg` returns bigint (count, sum, epoch-ms columns) as a string; this runner parses it to
 *    a number (every such value of the shop is far below 2^53);
 *  - a UNIQUE violation: SQLITE_CONSTRAINT_UNIQUE vs SQLSTATE 23505 (isUniqueViolation).
 * What the schemas do about the rest (INTEGER PRIMARY KEY vs GENERATED … AS IDENTITY, STRICT vs
 * types, rowid) is in each dialect's migrations. New ids come back with `INSERT … RETURNING id`,
 * which both run, instead of SQLite's lastInsertRowid.
 */
import type Database from "better-sqlite3";
import pg from "pg";
import { type Db, forRequests, openDatabase } from "./open.ts";
import { createPgRunner, type Exec, type PgRunner } from "./pg-runner.ts";
import { retryWhileBusy } from "./unavailable.ts";

export type Params = readonly unknown[];

export interface Sql {
  readonly dialect: "sqlite" | "postgres";
  all<R>(sql: string, params?: Params): Promise<R[]>;
  get<R>(sql: string, params?: Params): Promise<R | undefined>;
  /** The number of rows the statement changed. */
  run(sql: string, params?: Params): Promise<number>;
  /** All of `work`'s statements commit together, or none does (a throw rolls back). Not nestable. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
}

/** A UNIQUE index refused the row, in either dialect. */
export const isUniqueViolation = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
};

/**
 * The SQLite Sql over one better-sqlite3 connection: each statement prepared once (cached by its
 * text), run synchronously, its result handed back as an already-settled promise. No extra thread,
 * no extra round trip: a catalog page costs what it cost before, plus one promise per query.
 *
 * Transactions: better-sqlite3's own are synchronous, and `await` inside one would let another
 * request's statements land in it. So this runner keeps its own BEGIN IMMEDIATE … COMMIT, and while
 * one is open every other statement of this runner waits for it (a promise, never a blocked event
 * loop). Give it a connection of its own (openDataConnection): the session store's synchronous
 * transactions on the shop's main connection then can never run inside one of ours.
 */
export function createSqliteSql(db: Db, options: { busyTimeoutMs?: number } = {}): Sql {
  // Another connection's write lock (the session store's, another process's) is waited out here,
  // at the one level where a retry is always safe: a busy statement, or a busy BEGIN IMMEDIATE, has
  // done nothing. Nothing above this runner retries (db/unavailable.ts).
  const busyTimeoutMs = options.busyTimeoutMs ?? 2000;
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const direct = {
    all: (sql: string, params: Params = []) => prepared(sql).all(...params),
    get: (sql: string, params: Params = []) => prepared(sql).get(...params),
    run: (sql: string, params: Params = []) => prepared(sql).run(...params).changes,
  };
  /** The open transaction, if any: `ended` resolves when it has ended. */
  let open: { ended: Promise<void> } | null = null;
  // Each waiter checks `open` again in the same synchronous step that then runs its statement (or
  // BEGINs): a transaction another waiter opened in between is waited for too, never joined.
  /** A statement outside any transaction: at once (synchronously) unless one is open. */
  const outside =
    <K extends keyof typeof direct>(name: K) =>
    async (sql: string, params?: Params): Promise<ReturnType<(typeof direct)[K]>> => {
      return retryWhileBusy(async () => {
        while (open !== null) await open.ended;
        return direct[name](sql, params) as ReturnType<(typeof direct)[K]>;
      }, busyTimeoutMs);
    };
  const inside: Sql = {
    dialect: "sqlite",
    all: async (sql, params) => direct.all(sql, params) as never,
    get: async (sql, params) => direct.get(sql, params) as never,
    run: async (sql, params) => direct.run(sql, params),
    transaction: () => Promise.reject(new Error("transactions do not nest")),
  };
  return {
    dialect: "sqlite",
    all: outside("all") as Sql["all"],
    get: outside("get") as Sql["get"],
    run: outside("run"),
    async transaction(work) {
      while (open !== null) await open.ended;
      let end!: () => void;
      open = {
        ended: new Promise((resolve) => {
          end = resolve;
        }),
      };
      try {
        // IMMEDIATE: the write lock before the first read, so a busy lock fails here, having done nothing.
        await retryWhileBusy(() => prepared("BEGIN IMMEDIATE").run(), busyTimeoutMs);
        try {
          const result = await work(inside);
          prepared("COMMIT").run();
          return result;
        } catch (error) {
          if (db.inTransaction) prepared("ROLLBACK").run();
          throw error;
        }
      } finally {
        open = null;
        end();
      }
    },
  };
}

/** The shop's data connection (SQLite): its own, next to the session store's (see createSqliteSql), with the same settings (open.ts). */
export function openDataConnection(main: Db): Db {
  return forRequests(openDatabase(main.name));
}

/** `?` → `$1, $2 …`, outside quoted strings and identifiers. Each text converted once. */
const converted = new Map<string, string>();
export function toPostgres(sql: string): string {
  let out = converted.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  out = sql.replace(/'[^']*'|"[^"]*"|\?/g, (m) => (m === "?" ? `$${++n}` : m));
  converted.set(sql, out);
  return out;
}

/** int8 (count, sum, bigint columns) as a number: epoch ms and counts of this shop are far below 2^53. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** The PostgreSQL Sql over a PgRunner (src/db/pg-runner.ts): its deadline on every statement, a 503 when the server is gone. */
export function createPostgresSql(runner: PgRunner): Sql {
  const over = (exec: Exec, transaction: Sql["transaction"]): Sql => ({
    dialect: "postgres",
    all: async (sql, params = []) => (await exec(toPostgres(sql), [...params])).rows as never,
    get: async (sql, params = []) => (await exec(toPostgres(sql), [...params])).rows[0] as never,
    run: async (sql, params = []) => (await exec(toPostgres(sql), [...params])).rowCount ?? 0,
    transaction,
  });
  const nested: Sql["transaction"] = () => Promise.reject(new Error("transactions do not nest"));
  return over(runner.exec, (work) => runner.transaction((_q, exec) => work(over(exec, nested))));
}

/** A data runner for PostgreSQL: int8 parsed to numbers, the product's deadline on every call. */
export function createPostgresDataRunner(options: {
  connectionString: string;
  deadlineMs: number;
  max: number;
  options?: string;
  onIdleError?: (e: Error) => void;
}) {
  return createPgRunner({ ...options, types: pgTypes });
}
