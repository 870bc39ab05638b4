/**
 * Memory and disk per 100,000 sessions (each with a three-line cart and a user agent, as a
 * shopper's would be): resident memory of the memory technique, and the SQLite file's growth.
 * Run with --expose-gc; prints one JSON line.
 */
import fs from "node:fs";
import { hashSessionId, newSessionId } from "../src/session/id.ts";
import { createMemoryStore } from "../src/session/stores/memory-store.ts";
import { createSqliteStore } from "../src/session/stores/sqlite-store.ts";
import type { StoredSession } from "../src/session/types.ts";
import { freshDatabase } from "../src/test/harness.ts";

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const now = Date.now();
const record = (): StoredSession => ({
  data: {
    cart: [
      { productId: 1, quantity: 2 },
      { productId: 7, quantity: 1 },
      { productId: 12, quantity: 3 },
    ],
  },
  userId: null,
  createdAt: now,
  lastSeenAt: now,
  expiresAt: now + 1_800_000,
  userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
});
const keys = Array.from({ length: N }, () => hashSessionId(newSessionId()));

gc();
const rssBefore = process.memoryUsage().rss;
const memory = createMemoryStore();
for (const key of keys) await memory.create(key, record());
gc();
const rssAfter = process.memoryUsage().rss;

const { db, file, dir } = freshDatabase();
const sqlite = createSqliteStore(db);
db.pragma("wal_checkpoint(TRUNCATE)");
const sizeBefore = fs.statSync(file).size;
db.exec("BEGIN");
for (const key of keys) await sqlite.create(key, record());
db.exec("COMMIT");
db.pragma("wal_checkpoint(TRUNCATE)");
const sizeAfter = fs.statSync(file).size;
db.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    sessions: N,
    memoryTechniqueRssMb: Math.round(((rssAfter - rssBefore) / 1e6) * 10) / 10,
    sqliteFileMb: Math.round(((sizeAfter - sizeBefore) / 1e6) * 10) / 10,
    memorySize: memory.size,
  }),
);
