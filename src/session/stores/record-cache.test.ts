/**
 * The SQLite store's read cache (record-cache.ts) on real SQLite files: it must never serve a row
 * that is gone or changed, whoever changed it — this connection behind the store's back (a raw
 * DELETE, a user's ON DELETE CASCADE, the cleanup sweep), another connection, another process —
 * nor a row past its deadline, nor what a rolled-back transaction read; and it stays bounded.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { freshDatabase, root } from "../../test/harness.ts";
import { sweepExpired } from "../cleanup.ts";
import type { SessionData, StoredSession } from "../types.ts";
import { createGroupCommit } from "../../db/group-commit.ts";
import { createRecordCache, READ_CACHE_MAX_BYTES } from "./record-cache.ts";
import { createSqliteStore } from "./sqlite-store.ts";
import { reachableBytes } from "../../test/memory.ts";

let env: ReturnType<typeof freshDatabase>;
beforeEach(() => {
  env = freshDatabase();
});
afterEach(() => {
  if (env.db.open) env.db.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
});

const NOW = 1_000_000;
const record = (productIds: number[] = [], userId: number | null = null): StoredSession => ({
  data: { cart: productIds.map((productId) => ({ productId, quantity: 1 })) },
  userId,
  createdAt: NOW,
  lastSeenAt: NOW,
  expiresAt: NOW + 60_000,
  userAgent: null,
});
// The rows here are written in plain JSON, as before sealing (the store does not care which).
const cartOf = (s: StoredSession | null) => (s?.data as SessionData | undefined)?.cart.map((l) => l.productId) ?? null;

/** A store whose row for "k" has been read once, so it sits in the cache. */
async function storeWithCachedRow(productIds = [1]) {
  const store = createSqliteStore(env.db);
  await store.create("k", record(productIds));
  assert.deepEqual(cartOf(await store.get("k", NOW)), productIds);
  assert.deepEqual(cartOf(await store.get("k", NOW)), productIds, "read again (from the cache)");
  return store;
}

/** Run a script in a separate node process against the same database file. */
const inAnotherProcess = (sql: string) =>
  promisify(execFile)(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import Database from "better-sqlite3"; const db = new Database(${JSON.stringify(env.file)}); db.exec(${JSON.stringify(sql)}); db.close();`,
    ],
    { cwd: root, timeout: 20_000 },
  );

describe("the SQLite store's read cache", () => {
  it("a raw DELETE on the store's own connection: the next read finds nothing", async () => {
    const store = await storeWithCachedRow();
    env.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run("k");
    assert.equal(await store.get("k", NOW), null);
  });

  it("the triggers are the guard: without them the same raw DELETE would leave a dead row served from memory", async () => {
    const store = await storeWithCachedRow();
    const triggers = env.db.prepare("SELECT name FROM sqlite_temp_master WHERE type = 'trigger'").pluck().all() as string[];
    assert.equal(triggers.length, 3, "INSERT, UPDATE and DELETE");
    for (const name of triggers) env.db.exec(`DROP TRIGGER temp.${name}`);
    env.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run("k");
    assert.deepEqual(cartOf(await store.get("k", NOW)), [1], "resurrected: this is what the triggers prevent");
  });

  it("a raw UPDATE on the store's own connection: the next read sees the new row", async () => {
    const store = await storeWithCachedRow();
    env.db.prepare(`UPDATE sessions SET data = '{"cart":[{"productId":7,"quantity":1}]}' WHERE id_hash = ?`).run("k");
    assert.deepEqual(cartOf(await store.get("k", NOW)), [7]);
  });

  it("deleting a user cascades to their sessions, and the cache lets go at once", async () => {
    const store = createSqliteStore(env.db);
    const { lastInsertRowid } = env.db.prepare("INSERT INTO users (email, password_hash, created_at) VALUES ('a@example.com', 'x', 0)").run();
    const userId = Number(lastInsertRowid);
    await store.create("k", record([1], userId));
    assert.equal((await store.get("k", NOW))?.userId, userId);
    env.db.prepare("DELETE FROM users WHERE id = ?").run(userId);
    assert.equal(env.db.prepare("SELECT count(*) AS n FROM sessions").pluck().get(), 0, "the cascade removed the row");
    assert.equal(await store.get("k", NOW), null, "and no cached copy comes back");
  });

  it("a logout, a write and a login through the store itself are seen by the next read", async () => {
    const store = await storeWithCachedRow();
    await store.update("k", NOW, (s) => ({ ...s, data: { cart: [...(s.data as SessionData).cart, { productId: 2, quantity: 1 }] } }));
    assert.deepEqual(cartOf(await store.get("k", NOW)), [1, 2]);
    await store.rekey("k", "k2", NOW, (s) => s);
    assert.equal(await store.get("k", NOW), null, "the old ID is dead after login");
    assert.deepEqual(cartOf(await store.get("k2", NOW)), [1, 2]);
    await store.destroy("k2");
    assert.equal(await store.get("k2", NOW), null, "no resurrection after logout");
  });

  it("another process writes and deletes on the same file: this process sees it on its next read", async () => {
    const store = await storeWithCachedRow();
    await inAnotherProcess(`UPDATE sessions SET data = '{"cart":[{"productId":5,"quantity":1}]}' WHERE id_hash = 'k'`);
    assert.deepEqual(cartOf(await store.get("k", NOW)), [5], "the other process's write");
    assert.deepEqual(cartOf(await store.get("k", NOW)), [5]);
    await inAnotherProcess("DELETE FROM sessions WHERE id_hash = 'k'");
    assert.equal(await store.get("k", NOW), null, "the other process's delete (a logout or a sweep there)");
  });

  it("a write starts from the row another process committed, never from the cached one (checked under the write lock)", async () => {
    const store = await storeWithCachedRow([1]);
    await inAnotherProcess(`UPDATE sessions SET data = '{"cart":[{"productId":5,"quantity":1}]}' WHERE id_hash = 'k'`);
    const written = await store.update("k", NOW, (s) => ({ ...s, data: { cart: [...(s.data as SessionData).cart, { productId: 2, quantity: 1 }] } }));
    assert.deepEqual(cartOf(written), [5, 2], "the other process's item is kept: no lost update");
    assert.deepEqual(cartOf(await store.get("k", NOW)), [5, 2]);
    await inAnotherProcess("DELETE FROM sessions WHERE id_hash = 'k'");
    assert.equal(await store.update("k", NOW, (s) => s), null, "deleted there (a logout): the write finds nothing");
    assert.equal(await store.peek("k"), null, "and re-creates nothing");
  });

  it("a write of a cached row past its deadline finds nothing and writes nothing", async () => {
    const store = await storeWithCachedRow([1]);
    assert.equal(await store.update("k", NOW + 60_000, (s) => ({ ...s, expiresAt: NOW + 120_000 })), null);
    assert.equal((await store.peek("k"))?.expiresAt, NOW + 60_000, "the expired row was not extended");
  });

  it("another connection in this process: its commits are seen too", async () => {
    const store = await storeWithCachedRow();
    const other = new Database(env.file);
    try {
      other.prepare("DELETE FROM sessions WHERE id_hash = 'k'").run();
    } finally {
      other.close();
    }
    assert.equal(await store.get("k", NOW), null);
  });

  it("the cleanup sweep on this connection: a swept row is not served, even to a reader whose clock lags the sweeper's", async () => {
    const store = await storeWithCachedRow();
    const result = await sweepExpired(store, NOW + 60_000);
    assert.equal(result.removed, 1);
    assert.equal(await store.get("k", NOW), null);
  });

  it("a cached row past its deadline is not served", async () => {
    const store = await storeWithCachedRow();
    assert.ok(await store.get("k", NOW + 59_999), "still live one ms before");
    assert.equal(await store.get("k", NOW + 60_000), null, "expired at its deadline, cached or not");
  });

  it("what a rolled-back transaction changed or read never reaches the cache", async () => {
    const store = await storeWithCachedRow([1]);
    // A change whose work throws inside a group commit: rolled back to its savepoint.
    await assert.rejects(
      store.update("k", NOW, () => {
        throw new Error("refused");
      }),
    );
    assert.deepEqual(cartOf(await store.get("k", NOW)), [1]);
    // A raw transaction that changes the row, reads it through the store, then rolls back.
    let seenInside: number[] | null = null;
    assert.throws(() =>
      env.db.transaction(() => {
        env.db.prepare(`UPDATE sessions SET data = '{"cart":[{"productId":9,"quantity":1}]}' WHERE id_hash = 'k'`).run();
        void store.get("k", NOW).then((s) => {
          seenInside = cartOf(s);
        });
        throw new Error("roll back");
      })(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seenInside, [9], "inside, the uncommitted row was read");
    assert.deepEqual(cartOf(await store.get("k", NOW)), [1], "after the rollback, the committed row again");
  });

  describe("rows this connection writes (write-through, kept only once their transaction commits)", () => {
    const insert = (key: string, cart: number[]) =>
      env.db
        .prepare("INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, NULL, ?, ?, ?)")
        .run(key, JSON.stringify({ cart: cart.map((productId) => ({ productId, quantity: 1 })) }), NOW, NOW, NOW + 60_000);
    const setup = () => {
      const cache = createRecordCache<{ cart: number[] }>(env.db, { table: "sessions", keyColumn: "id_hash", max: 10 });
      const group = createGroupCommit(env.db, { settled: cache.settle });
      const selects: string[] = [];
      const select = (key: string) => () => {
        selects.push(key);
        const row = env.db.prepare<[string], { data: string }>("SELECT data FROM sessions WHERE id_hash = ?").get(key);
        return row && { cart: (JSON.parse(row.data) as SessionData).cart.map((l) => l.productId) };
      };
      return { cache, group, selects, select };
    };

    it("a row written in a committed group is read back without a SELECT", async () => {
      const { cache, group, selects, select } = setup();
      await group.run(() => {
        insert("k", [4]);
        return cache.wrote("k", { cart: [4] });
      });
      assert.deepEqual(cache.read("k", select("k")), { cart: [4] });
      assert.deepEqual(selects, [], "served from memory");
    });

    it("a logout queued after an add in the same group leaves no row behind, in the table or in memory", async () => {
      const { cache, group, selects, select } = setup();
      insert("k", [1]);
      const add = group.run(() => {
        env.db.prepare("UPDATE sessions SET data = ? WHERE id_hash = ?").run(
          JSON.stringify({
            cart: [
              { productId: 1, quantity: 1 },
              { productId: 2, quantity: 1 },
            ],
          }),
          "k",
        );
        return cache.wrote("k", { cart: [1, 2] });
      });
      const logout = group.run(() => env.db.prepare("DELETE FROM sessions WHERE id_hash = ?").run("k")); // same turn: same transaction, after the add
      await Promise.all([add, logout]);
      assert.equal(cache.read("k", select("k")), undefined, "the staged row died with the DELETE's trigger");
      assert.deepEqual(selects, ["k"], "it was looked up, and is gone");
    });

    it("a cascade (the user deleted) after a write in the same group leaves nothing in memory either", async () => {
      const { cache, group, select } = setup();
      env.db.prepare("INSERT INTO users (id, email, password_hash, created_at) VALUES (7, 'u7@example.com', 'x', 0)").run();
      insert("k", [1]);
      await Promise.all([
        group.run(() => {
          env.db.prepare("UPDATE sessions SET user_id = 7 WHERE id_hash = ?").run("k");
          return cache.wrote("k", { cart: [1] });
        }),
        group.run(() => env.db.prepare("DELETE FROM users WHERE id = 7").run()),
      ]);
      assert.equal(cache.read("k", select("k")), undefined);
    });

    it("a group that rolls back keeps nothing it staged", async () => {
      const { cache, group, selects, select } = setup();
      insert("k", [1]);
      await assert.rejects(
        group.run(() => {
          env.db.prepare("UPDATE sessions SET data = ? WHERE id_hash = ?").run(JSON.stringify({ cart: [{ productId: 9, quantity: 1 }] }), "k");
          cache.wrote("k", { cart: [9] });
          throw new Error("refused after writing");
        }),
      );
      assert.deepEqual(cache.read("k", select("k")), { cart: [1] }, "the committed row, read from the table");
      assert.deepEqual(selects, ["k"]);
    });

    it("through the store: after an add the written cart is read back, and another process's delete still ends the session", async () => {
      const store = createSqliteStore(env.db);
      await store.create("k", record([1]));
      await store.update("k", NOW + 1, (s) => ({ ...s, data: { cart: [...(cartOf(s) ?? []), 2].map((productId) => ({ productId, quantity: 1 })) } }));
      assert.deepEqual(cartOf(await store.get("k", NOW + 2)), [1, 2]);
      await inAnotherProcess("DELETE FROM sessions WHERE id_hash = 'k'");
      assert.equal(await store.get("k", NOW + 3), null, "data_version moved: the remembered row is dropped");
    });
  });

  it("keeps at most its bound, forgetting the least recently used row first", () => {
    const cache = createRecordCache<{ id: string }>(env.db, { table: "sessions", keyColumn: "id_hash", max: 3 });
    const loads: string[] = [];
    const read = (key: string) =>
      cache.read(key, () => {
        loads.push(key);
        return { id: key };
      });
    for (const key of ["a", "b", "c", "a", "d"]) read(key); // "a" used again, so "b" is the oldest when "d" comes
    assert.equal(cache.size, 3);
    assert.deepEqual(loads, ["a", "b", "c", "d"], "the second read of a came from memory");
    read("a");
    read("c");
    read("b");
    assert.deepEqual(loads, ["a", "b", "c", "d", "b"], "b was the one forgotten");
    assert.equal(cache.size, 3);
  });

  it("keeps at most its byte budget: a large row pushes the oldest out, and one larger than the whole budget is not kept", () => {
    const cache = createRecordCache<{ id: string; bytes: number }>(env.db, {
      table: "sessions",
      keyColumn: "id_hash",
      max: 100,
      maxBytes: 1000,
      sizeOf: (row) => row.bytes,
    });
    const loads: string[] = [];
    const read = (key: string, bytes: number) =>
      cache.read(key, () => {
        loads.push(key);
        return { id: key, bytes };
      });
    for (const key of ["a", "b", "c"]) read(key, 300);
    assert.deepEqual([cache.size, cache.bytes], [3, 900]);
    read("big", 600); // 900 + 600 > 1000: a and b go, least recently used first
    assert.deepEqual([cache.size, cache.bytes], [2, 900]);
    read("c", 300);
    read("a", 300);
    assert.deepEqual(loads, ["a", "b", "c", "big", "a"], "c still came from memory, a had been forgotten");
    read("huge", 5000);
    read("huge", 5000);
    assert.deepEqual(loads.slice(-2), ["huge", "huge"], "a row over the whole budget is read every time, never kept");
    assert.ok(cache.bytes <= 1000);
  });

  it("through the store: 1,000 sessions with the largest carts, read back, keep about its budget (16 MB) in memory, not all 33 MB", async () => {
    const store = createSqliteStore(env.db);
    const sealedLargest = () => ({ sealed: `v1.${randomBytes(24_000).toString("base64url")}` }); // what the largest cart seals to: 32 KB of text
    const keys = Array.from({ length: 1000 }, (_, i) => `large-${i}`);
    await Promise.all(keys.map((key) => store.create(key, { ...record(), data: sealedLargest() })));
    new Database(env.file).exec("CREATE TABLE other_writer (x); DROP TABLE other_writer").close(); // another connection: the cache starts empty
    await store.get("none", NOW);
    const before = (await reachableBytes()).total;
    for (const key of keys) assert.ok(await store.get(key, NOW));
    const grown = (await reachableBytes()).total - before;
    assert.ok(grown < READ_CACHE_MAX_BYTES * 1.25, `1,000 large rows read: ${Math.round(grown / 1048576)} MB kept`);
  });

  it("readCache: 0 keeps no rows and adds no triggers", async () => {
    const before = env.db.prepare("SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'").pluck().get();
    const store = createSqliteStore(env.db, { readCache: 0 });
    assert.equal(env.db.prepare("SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'").pluck().get(), before);
    await store.create("k", record([1]));
    assert.deepEqual(cartOf(await store.get("k", NOW)), [1]);
    env.db.prepare("DELETE FROM sessions").run();
    assert.equal(await store.get("k", NOW), null);
  });
});
