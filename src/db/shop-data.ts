/**
 * openShopData: the shop's own data (catalog, accounts, orders, stock, saved carts, instructor
 * passes) as one Sql (src/db/sql.ts), on the database DATA_STORE names.
 *
 * - sqlite (the default): the shop's file, through a connection of its own (see createSqliteSql),
 *   already migrated and seeded by the caller. Waits for another process's write lock a few ms in
 *   SQLite, then from the event loop (db/unavailable.ts), as every request-time statement does.
 * - postgres: DATABASE_URL. db/migrations-postgres applied, then the demo seed, both under one
 *   advisory lock (db/pg-migrate.ts), so instances starting together apply each exactly once. Every
 *   statement under PG_QUERY_DEADLINE_MS: a server that is down or frozen is a 503, never a hang.
 *   At start-up an unreachable server is fatal, with a message that says what to start.
 */
import path from "node:path";
import type { Config } from "../config.ts";
import type { Db } from "./open.ts";
import { migratePostgres, seedPostgres } from "./pg-migrate.ts";
import type { PgRunner } from "./pg-runner.ts";
import { createPostgresDataRunner, createPostgresSql, createSqliteSql, openDataConnection, type Sql } from "./sql.ts";

export interface ShopData {
  sql: Sql;
  /** The PostgreSQL pool (DATA_STORE=postgres): the rate limits count there too. Null on SQLite. */
  runner: PgRunner | null;
  migrationsApplied: number[];
  seeded: boolean;
  close(): Promise<void>;
}

export class DataUnreachableError extends Error {}

/** Where the connection string may carry a password: never log it. */
const redacted = (url: string) => url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");

/** What went wrong underneath the 503 error (ECONNREFUSED, a missing database, …). */
const reason = (error: unknown): string => {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? reason(cause) : error instanceof Error ? error.message : String(error);
};

export async function openShopData(
  config: Pick<Config, "dataStore" | "databaseUrl" | "pgQueryDeadlineMs" | "pgPoolMax" | "sqliteBusyTimeoutMs">,
  db: Db,
  root: string,
  options: { log?: { warn(obj: object, msg: string): void }; pgOptions?: string } = {},
): Promise<ShopData> {
  if (config.dataStore === "sqlite") {
    // An in-memory database cannot be opened twice: it then shares the one connection.
    const own = db.memory ? db : openDataConnection(db);
    return {
      sql: createSqliteSql(own, { busyTimeoutMs: config.sqliteBusyTimeoutMs }),
      runner: null,
      migrationsApplied: [],
      seeded: false,
      close: async () => {
        if (own !== db) own.close();
      },
    };
  }
  const runner = createPostgresDataRunner({
    connectionString: config.databaseUrl,
    deadlineMs: config.pgQueryDeadlineMs,
    max: config.pgPoolMax,
    options: options.pgOptions,
    onIdleError: (err) => options.log?.warn({ err: err.message }, "postgres connection problem"),
  });
  try {
    const migrationsApplied = await migratePostgres(runner, path.join(root, "db/migrations-postgres"));
    const seeded = await seedPostgres(runner, path.join(root, "db/seed.sql"));
    return { sql: createPostgresSql(runner), runner, migrationsApplied, seeded, close: () => runner.close() };
  } catch (error) {
    await runner.close().catch(() => {});
    throw new DataUnreachableError(
      `DATA_STORE=postgres, but PostgreSQL is not usable at ${redacted(config.databaseUrl)} (${reason(error)}). ` +
        "Start it (Debian: apt-get install postgresql) or set DATABASE_URL=postgres://user@host:port/database.",
    );
  }
}
