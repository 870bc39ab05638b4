/**
 * Connecting the PostgreSQL technique: a `pg` pool with deadlines (src/db/pg-runner.ts), the
 * sessions table created or brought up to date (db/migrations-postgres, under an advisory lock, so
 * instances starting together do not race), and the store (stores/postgres-store.ts). At start-up an
 * unreachable server is fatal, with a message that says what to start; afterwards an outage is a 503
 * per request, and the pool reconnects by itself when the server is back.
 */
import path from "node:path";
import type { Config } from "../config.ts";
import { migratePostgres } from "../db/pg-migrate.ts";
import { createPgRunner } from "../db/pg-runner.ts";
import { createPostgresStore } from "./stores/postgres-store.ts";

export class PostgresUnreachableError extends Error {}

/** Where the connection string may carry a password: never log it. */
const redacted = (url: string) => url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");

export async function connectPostgresStore(
  config: Pick<Config, "databaseUrl" | "pgQueryDeadlineMs" | "pgPoolMax">,
  root: string,
  log?: { warn(obj: object, msg: string): void },
  extra: { options?: string; oneStatement?: boolean } = {},
) {
  const runner = createPgRunner({
    connectionString: config.databaseUrl,
    deadlineMs: config.pgQueryDeadlineMs,
    max: config.pgPoolMax,
    options: extra.options,
    onIdleError: (err) => log?.warn({ err: err.message }, "postgres connection problem"),
  });
  try {
    await migratePostgres(runner, path.join(root, "db/migrations-postgres"));
  } catch (error) {
    await runner.close().catch(() => {});
    throw new PostgresUnreachableError(
      `SESSION_STORE=postgres, but PostgreSQL is not usable at ${redacted(config.databaseUrl)} (${(error as Error).message}). ` +
        "Start it (Debian: apt-get install postgresql) or set DATABASE_URL=postgres://user@host:port/database.",
    );
  }
  // oneStatement false (the benchmark's A/B): nothing remembered, so every update takes the locked path.
  const store = createPostgresStore(runner, extra.oneStatement === false ? { rememberBytes: 0 } : {});
  return Object.assign(store, { close: () => runner.close(), runner });
}
