/**
 * migrate(db, dir): apply db/migrations/NNN-name.sql in order. PRAGMA user_version records the
 * last one applied; each file runs in its own transaction with its version bump, so a failed
 * migration leaves the database exactly as it was.
 */
import fs from "node:fs";
import path from "node:path";
import type { Db } from "./open.ts";

export function migrate(db: Db, dir: string): number[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}-[\w-]+\.sql$/.test(f))
    .sort();
  const currentVersion = () => db.pragma("user_version", { simple: true }) as number;
  const applied: number[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    if (version <= currentVersion()) continue;
    const sql = fs.readFileSync(path.join(dir, file), "utf8");
    // IMMEDIATE, and the version checked again under the write lock: when two processes start at
    // once on the same file, the second waits for the first and then finds the migration done.
    const ran = db
      .transaction(() => {
        if (version <= currentVersion()) return false;
        db.exec(sql);
        db.pragma(`user_version = ${version}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(version);
  }
  return applied;
}

/** Load the demo catalog once: only when there are no products yet. */
export function seedCatalog(db: Db, seedFile: string): boolean {
  const empty = () => (db.prepare("SELECT count(*) AS n FROM products").get() as { n: number }).n === 0;
  if (!empty()) return false;
  // Checked again under the write lock, as for migrations: two processes never both seed.
  return db
    .transaction(() => {
      if (!empty()) return false;
      db.exec(fs.readFileSync(seedFile, "utf8"));
      return true;
    })
    .immediate();
}
