/**
 * migrate(db, dir): apply db/migrations/NNN-name.sql in order. PRAGMA user_version records the
 * last one applied; each file runs in its own transaction with its version bump, so a failed
 * migration leaves the database exactly as it was.
 */
import fs from "node:fs";
import path from "node:path";
import type { Db } from "./open.js";

export function migrate(db: Db, dir: string): number[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}-[\w-]+\.sql$/.test(f))
    .sort();
  const current = db.pragma("user_version", { simple: true }) as number;
  const applied: number[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    if (version <= current) continue;
    const sql = fs.readFileSync(path.join(dir, file), "utf8");
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    }).immediate();
    applied.push(version);
  }
  return applied;
}

/** Load the demo catalog once: only when there are no products yet. */
export function seedCatalog(db: Db, seedFile: string): boolean {
  const { n } = db.prepare("SELECT count(*) AS n FROM products").get() as { n: number };
  if (n > 0) return false;
  db.transaction(() => db.exec(fs.readFileSync(seedFile, "utf8"))).immediate();
  return true;
}
