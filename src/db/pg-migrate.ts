/**
 * migratePostgres(runner, dir): apply db/migrations-postgres/NNN-name.sql in order, each in its own
 * transaction with its row in schema_migrations, so a failed migration leaves the database as it was.
 *
 * Several instances may start at once against one database. Each takes the same transaction-level
 * advisory lock first (pg_advisory_xact_lock: released by COMMIT or ROLLBACK, even if this process
 * dies), so the second waits for the first and then finds the migration recorded. A migration that
 * cannot run in a transaction (CREATE INDEX CONCURRENTLY) would need a step of its own: none does yet.
 */
import fs from "node:fs";
import path from "node:path";
import type { PgRunner } from "./pg-runner.ts";

/** Any fixed number: the lock's name. "shop" in ASCII. */
const MIGRATION_LOCK = 0x73686f70;

export async function migratePostgres(db: PgRunner, dir: string): Promise<number[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}-[\w-]+\.sql$/.test(f))
    .sort();
  const applied: number[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    const sql = fs.readFileSync(path.join(dir, file), "utf8");
    const ran = await db.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await q("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
      // Checked again under the lock: another instance may have applied it while we waited.
      if ((await q("SELECT 1 FROM schema_migrations WHERE version = $1", [version])).length > 0) return false;
      await q(sql);
      await q("INSERT INTO schema_migrations (version) VALUES ($1)", [version]);
      return true;
    });
    if (ran) applied.push(version);
  }
  return applied;
}

/**
 * Load the demo catalog (db/seed.sql, the same file SQLite runs) once: only while there are no
 * products. Under the migrations' advisory lock, checked again once it is held, so of several
 * instances starting at once exactly one seeds and the others find the products there.
 */
export async function seedPostgres(db: PgRunner, seedFile: string): Promise<boolean> {
  return db.transaction(async (q) => {
    await q("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    if ((await q("SELECT 1 FROM products LIMIT 1")).length > 0) return false;
    await q(fs.readFileSync(seedFile, "utf8"));
    return true;
  });
}
