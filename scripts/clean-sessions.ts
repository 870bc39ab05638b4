/**
 * npm run sessions:clean — the cleanup job, once, by hand: deletes every expired session row
 * and prints how many it removed. Uses the same configuration as the server: DATABASE_PATH, or
 * with SESSION_STORE=postgres the DATABASE_URL's sessions table (safe beside running instances:
 * its batches skip the rows their sweepers hold).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../src/clock.ts";
import { ConfigError, readConfig } from "../src/config.ts";
import { migrate } from "../src/db/migrate.ts";
import { openDatabase } from "../src/db/open.ts";
import { sweepExpired } from "../src/session/cleanup.ts";
import { createSqliteSessionStore } from "../src/session/technique.ts";
import { connectPostgresStore } from "../src/session/postgres.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
try {
  // Cleaning needs no secrets: let a development-style config through even without them.
  const config = readConfig({ ...process.env, NODE_ENV: "development", LOG_LEVEL: "silent" }, root);
  if (config.sessionStore === "postgres") {
    const store = await connectPostgresStore(config, root);
    const now = systemClock.now();
    const { live } = await store.stats(now);
    const result = await sweepExpired(store, now);
    await store.close();
    console.log(
      `Removed ${result.removed} expired session${result.removed === 1 ? "" : "s"} in ${Math.round(result.ms)} ms (${live} live left) from PostgreSQL`,
    );
    process.exit(0);
  }
  const db = openDatabase(config.databasePath);
  migrate(db, path.join(root, "db/migrations"));
  const { n: before } = db.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number };
  const result = await sweepExpired(createSqliteSessionStore(db), systemClock.now());
  db.close();
  console.log(
    `Removed ${result.removed} expired session${result.removed === 1 ? "" : "s"} in ${Math.round(result.ms)} ms ` +
      `(${before - result.removed} live left) from ${config.databasePath}`,
  );
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
