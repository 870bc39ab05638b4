/**
 * The store contract (src/test/store-contract.ts) on the stores that need no server: memory, and
 * SQLite on a real file as the shop composes it (technique.ts). Redis and PostgreSQL:
 * stores/redis-store-contract.test.ts, stores/postgres-store-contract.test.ts.
 */
import { after } from "node:test";
import fs from "node:fs";
import { freshDatabase } from "../test/harness.ts";
import { storeContract } from "../test/store-contract.ts";
import { createMemoryStore } from "./stores/memory-store.ts";
import { createSqliteSessionStore } from "./technique.ts";

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

storeContract("memory", () => createMemoryStore());
storeContract("sqlite (file)", () => {
  const { db, dir } = freshDatabase();
  for (const id of [1, 2, 3]) db.prepare("INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, 'x', 0)").run(id, `u${id}@example.com`);
  cleanups.push(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return createSqliteSessionStore(db);
});
