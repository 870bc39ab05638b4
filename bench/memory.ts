/**
 * Memory and disk per 100,000 sessions (each with a three-line cart, sealed as the storage seals
 * every record (seal.ts), and a user agent, as a shopper's would be): resident memory of the memory
 * technique, and the SQLite file's growth. Run with --expose-gc; prints one JSON line.
 */
import fs from "node:fs";
import { hashSessionId, newSessionId } from "../src/session/id.ts";
import { sealFor } from "../src/session/seal.ts";
import { createMemoryStore } from "../src/session/stores/memory-store.ts";
import { createSqliteSessionStore } from "../src/session/technique.ts";
import type { StoredSession } from "../src/session/types.ts";
import { freshDatabase } from "../src/test/harness.ts";

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const now = Date.now();
const cart = [
  { productId: 1, quantity: 2 },
  { productId: 7, quantity: 1 },
  { productId: 12, quantity: 3 },
];
const record = (sealed: StoredSession["data"]): StoredSession => ({
  data: sealed,
  userId: null,
  createdAt: now,
  lastSeenAt: now,
  expiresAt: now + 1_800_000,
  userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
});
// Sealed before measuring (HKDF's garbage would inflate the resident size), but each text copied
// into a new string inside the loop: the sealed text of a record belongs to the store that keeps it.
const sessions = Array.from({ length: N }, () => {
  const id = newSessionId();
  const key = hashSessionId(id);
  return { key, text: (sealFor(id, key).seal({ cart }) as { sealed: string }).sealed };
});
const sealed = (i: number) => ({ key: sessions[i]!.key, data: { sealed: Buffer.from(sessions[i]!.text).toString() } });

gc();
const rssBefore = process.memoryUsage().rss;
const memory = createMemoryStore();
for (let i = 0; i < N; i++) {
  const { key, data } = sealed(i);
  await memory.create(key, record(data));
}
gc();
const rssAfter = process.memoryUsage().rss;

const { db, file, dir } = freshDatabase();
const sqlite = createSqliteSessionStore(db);
db.pragma("wal_checkpoint(TRUNCATE)");
const sizeBefore = fs.statSync(file).size;
db.exec("BEGIN");
for (let i = 0; i < N; i++) {
  const { key, data } = sealed(i);
  await sqlite.create(key, record(data));
}
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
