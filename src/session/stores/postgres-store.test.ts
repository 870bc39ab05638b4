/**
 * What the PostgreSQL store promises beyond the shared contract, on a real cluster: two instances
 * (two pools, like two machines) never lose each other's changes, a logout racing a write is final,
 * the database's clock decides expiry, any number of sweepers can run at once, and instances that
 * start together migrate once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { migratePostgres } from "../../db/pg-migrate.ts";
import { createPgRunner } from "../../db/pg-runner.ts";
import { startPgProxy } from "../../test/pg-proxy.ts";
import { root } from "../../test/harness.ts";
import { type PostgresServer, startPostgresServer } from "../../test/postgres-server.ts";
import { cartOf, record, withProduct } from "../../test/records.ts";
import { hashSessionId, newSessionId } from "../id.ts";
import type { StoredSession } from "../types.ts";
import { createPostgresStore } from "./postgres-store.ts";
import fs from "node:fs";
import path from "node:path";

const key = () => hashSessionId(newSessionId());
const ids = (s: StoredSession | null) =>
  s
    ? cartOf(s)
        .map((l) => l.productId)
        .sort((a, b) => a - b)
    : null;

let server: PostgresServer;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  server = await startPostgresServer();
});
after(async () => {
  for (const c of closers) await c();
  await server.close();
});

/** Two instances of the shop on one database: two pools on the same schema. */
async function twoInstances() {
  const schema = await server.schema();
  const runners = [1, 2].map(() => createPgRunner({ connectionString: server.url, deadlineMs: 3000, options: schema.options }));
  await Promise.all(runners.map((r) => migratePostgres(r, path.join(root, "db/migrations-postgres"))));
  closers.push(async () => {
    for (const r of runners) await r.close();
  });
  return { a: createPostgresStore(runners[0]!), b: createPostgresStore(runners[1]!), runner: runners[0]! };
}

describe("postgres store across instances", () => {
  it("loses no change when two instances add to one cart at the same moment (40 adds, 20 each)", async () => {
    const { a, b } = await twoInstances();
    const k = key();
    const now = Date.now();
    await a.create(k, record(null, [], now));
    const adds = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update(k, now, withProduct(100 + i)));
    const results = await Promise.all(adds);
    assert.ok(
      results.every((r) => r !== null),
      "every add was acknowledged",
    );
    assert.deepEqual(
      ids(await a.get(k, now)),
      Array.from({ length: 40 }, (_, i) => 100 + i),
    );
  });

  it("a logout on one instance is final: a write racing it on the other never brings the session back", async () => {
    const { a, b } = await twoInstances();
    const now = Date.now();
    for (let round = 0; round < 20; round++) {
      const k = key();
      await a.create(k, record(null, [1], now));
      const [written] = await Promise.all([b.update(k, now, withProduct(2)), a.destroy(k)]);
      assert.equal(await a.peek(k), null, `round ${round}: the row stays gone (the write ${written ? "landed before" : "found no row"})`);
      assert.equal(await b.update(k, now, withProduct(3)), null, "a later write is refused, not an upsert");
      assert.equal(await b.rekey(k, key(), now, (s) => s), null, "and so is a rekey");
    }
  });

  it("the database's clock decides: an instance whose clock runs an hour behind can neither read nor touch an expired session", async () => {
    const { a } = await twoInstances();
    const k = key();
    const real = Date.now();
    await a.create(k, { ...record(null, [1], real - 60_000), expiresAt: real - 1_000 });
    const behind = real - 3600_000;
    assert.equal(await a.get(k, behind), null, "expired by the database's clock, whatever the caller's says");
    assert.equal(await a.update(k, behind, withProduct(2)), null);
    assert.equal(await a.touch(k, behind + 1, real + 3600_000), false, "a touch cannot revive it");
    assert.equal((await a.peek(k))?.expiresAt, real - 1_000);
  });

  it("two sweepers at once delete every expired row exactly once, in batches of at most their limit, without waiting on each other", async () => {
    const { a, b, runner } = await twoInstances();
    const now = Date.now();
    await runner.query(
      `INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent)
       SELECT md5(g::text) || md5((g * 7)::text), '{}', NULL, $1::bigint, $1::bigint, $1::bigint - g, NULL FROM generate_series(1, 20000) g`,
      [now - 10_000],
    );
    await runner.query("INSERT INTO sessions VALUES ('live', '{}', NULL, $1, $1, $2, NULL)", [now, now + 3600_000]);
    const sweep = async (store: typeof a) => {
      const batches: number[] = [];
      for (let n = await store.deleteExpired(now, 500); n > 0; n = await store.deleteExpired(now, 500)) batches.push(n);
      return batches;
    };
    const [ofA, ofB] = await Promise.all([sweep(a), sweep(b)]);
    const removed = [...ofA, ...ofB].reduce((x, y) => x + y, 0);
    assert.equal(removed, 20_000, "no row deleted twice, none left behind");
    assert.ok(Math.max(...ofA, ...ofB) <= 500, "no batch over its limit");
    assert.ok(ofA.length > 0 && ofB.length > 0, `both sweepers did work (${ofA.length} and ${ofB.length} batches)`);
    assert.deepEqual(await a.stats(now), { live: 1, expired: 0 });
  });

  it("instances starting together create the table once (the advisory lock), and every one of them starts", async () => {
    const schema = await server.schema();
    const runners = Array.from({ length: 4 }, () => createPgRunner({ connectionString: server.url, deadlineMs: 5000, options: schema.options }));
    closers.push(async () => {
      for (const r of runners) await r.close();
    });
    const applied = await Promise.all(runners.map((r) => migratePostgres(r, path.join(root, "db/migrations-postgres"))));
    // The numbers need not follow on (the sessions table's own series starts at 101).
    const migrations = fs
      .readdirSync(path.join(root, "db/migrations-postgres"))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => Number(f.slice(0, 3)))
      .sort((x, y) => x - y);
    assert.ok(migrations.length >= 3);
    assert.deepEqual(
      applied.flat().sort((x, y) => x - y),
      migrations,
      `each migration ran once in all: ${JSON.stringify(applied)}`,
    );
    assert.deepEqual(
      await runners[0]!.query("SELECT version FROM schema_migrations ORDER BY version"),
      migrations.map((version) => ({ version })),
    );
  });
});

describe("postgres store: one statement per uncontended write", () => {
  /** `change`, counting its runs and keeping the carts it was given. */
  const counted = (change: (s: StoredSession) => StoredSession) => {
    const given: (number[] | null)[] = [];
    const run = (s: StoredSession) => {
      given.push(ids(s));
      return change(s);
    };
    return Object.assign(run, { given });
  };
  let proxy: Awaited<ReturnType<typeof startPgProxy>>;
  let statements: string[] = [];
  before(async () => {
    proxy = await startPgProxy(server.port);
    // Every statement instance `a` sends, as PostgreSQL receives it (a Parse's SQL or a simple Query).
    proxy.rule = (type, text) =>
      void (
        (type === "P" || type === "Q") &&
        statements.push(
          text
            .replace(/\0[\s\S]*$/, "")
            .replace(/\s+/g, " ")
            .trim(),
        )
      );
  });
  after(() => proxy.close());

  /** Instance `a` talks through the counting proxy, `b` directly; both on one schema. */
  async function counting() {
    const schema = await server.schema();
    const viaProxy = createPgRunner({ connectionString: proxy.via(server.url), deadlineMs: 3000, options: schema.options });
    const direct = createPgRunner({ connectionString: server.url, deadlineMs: 3000, options: schema.options });
    await migratePostgres(direct, path.join(root, "db/migrations-postgres"));
    closers.push(async () => {
      await viaProxy.close();
      await direct.close();
    });
    const a = createPostgresStore(viaProxy);
    await a.get(key(), Date.now()); // the pool's first connection made: its set-up is not counted
    statements = [];
    return { a, b: createPostgresStore(direct) };
  }
  const kinds = () => statements.map((sql) => (sql.includes("AND version = $6") ? "one-statement UPDATE" : sql.split(" ").slice(0, 1)[0]!));

  it("an add after the request's read is two statements, the write one UPDATE with no transaction and no lock", async () => {
    const { a, b } = await counting();
    const k = key();
    const now = Date.now();
    await b.create(k, record(null, [1], now));
    assert.deepEqual(ids(await a.get(k, now)), [1]);
    assert.deepEqual(ids(await a.update(k, now, withProduct(2))), [1, 2]);
    assert.deepEqual(kinds(), ["SELECT", "one-statement UPDATE"], statements.join("\n"));
    assert.deepEqual(ids(await b.get(k, now)), [1, 2], "written");
    statements = [];
    assert.deepEqual(ids(await a.update(k, now, withProduct(3))), [1, 2, 3], "its own last write is remembered too");
    assert.deepEqual(kinds(), ["one-statement UPDATE"]);
  });

  it("another instance wrote since the read: the one statement misses, and the change reruns once under the lock on the fresh row", async () => {
    const { a, b } = await counting();
    const k = key();
    const now = Date.now();
    await b.create(k, record(null, [1], now));
    await a.get(k, now);
    await b.update(k, now, withProduct(3));
    statements = [];
    const change = counted(withProduct(2));
    assert.deepEqual(ids(await a.update(k, now, change)), [1, 2, 3]);
    assert.deepEqual(change.given, [[1], [1, 3]], "first on the copy read (discarded), then on the fresh row");
    assert.deepEqual(kinds(), ["one-statement UPDATE", "BEGIN", "SELECT", "UPDATE", "COMMIT"]);
    assert.match(statements[2]!, /FOR UPDATE$/);
    assert.deepEqual(ids(await b.get(k, now)), [1, 2, 3], "both changes kept");
  });

  it("`once` (checkout) runs its change exactly once, under the lock, even on a row just read", async () => {
    const { a, b } = await counting();
    const k = key();
    const now = Date.now();
    await b.create(k, record(null, [1], now));
    await a.get(k, now);
    await b.update(k, now, withProduct(3));
    statements = [];
    const change = counted(withProduct(2));
    assert.deepEqual(ids(await a.update(k, now, change, { once: true })), [1, 2, 3]);
    assert.deepEqual(change.given, [[1, 3]], "once, on the freshest row, after PostgreSQL answered");
    assert.deepEqual(kinds(), ["BEGIN", "SELECT", "UPDATE", "COMMIT"]);
  });

  it("a row destroyed after the read: null, and nothing re-created", async () => {
    const { a, b } = await counting();
    const k = key();
    const now = Date.now();
    await b.create(k, record(null, [1], now));
    await a.get(k, now);
    await b.destroy(k);
    assert.equal(await a.update(k, now, withProduct(2)), null);
    assert.equal(await b.peek(k), null);
    assert.equal(kinds().filter((x) => x === "INSERT").length, 0, "never an upsert");
  });

  it("a change that refuses the copy it was given is asked again on the fresh row", async () => {
    const { a, b } = await counting();
    const k = key();
    const now = Date.now();
    await b.create(k, record(null, [1], now));
    await a.get(k, now);
    await b.update(k, now, withProduct(3));
    const change = counted((s) => {
      if (!cartOf(s).some((l) => l.productId === 3)) throw new Error("no product 3 yet");
      return withProduct(2)(s);
    });
    assert.deepEqual(ids(await a.update(k, now, change)), [1, 2, 3]);
    assert.deepEqual(change.given, [[1], [1, 3]]);
  });

  it("with nothing remembered (the speed-up off), every update takes the locked path, and is just as right", async () => {
    const schema = await server.schema();
    const runner = createPgRunner({ connectionString: proxy.via(server.url), deadlineMs: 3000, options: schema.options });
    await migratePostgres(runner, path.join(root, "db/migrations-postgres"));
    closers.push(() => runner.close());
    const a = createPostgresStore(runner, { rememberBytes: 0 });
    const now = Date.now();
    const k = key();
    await a.create(k, record(null, [1], now));
    await a.get(k, now);
    statements = [];
    assert.deepEqual(ids(await a.update(k, now, withProduct(2))), [1, 2]);
    assert.deepEqual(kinds(), ["BEGIN", "SELECT", "UPDATE", "COMMIT"]);
  });

  it("remembers at most `rememberKeys` rows: an older one's write takes the locked path, and is still right", async () => {
    const schema = await server.schema();
    const runner = createPgRunner({ connectionString: proxy.via(server.url), deadlineMs: 3000, options: schema.options });
    await migratePostgres(runner, path.join(root, "db/migrations-postgres"));
    closers.push(() => runner.close());
    const a = createPostgresStore(runner, { rememberKeys: 2 });
    const now = Date.now();
    const [k1, k2, k3] = [key(), key(), key()];
    for (const k of [k1, k2, k3]) await a.create(k, record(null, [1], now));
    statements = [];
    assert.deepEqual(ids(await a.update(k1, now, withProduct(2))), [1, 2]);
    assert.deepEqual(ids(await a.update(k3, now, withProduct(2))), [1, 2]);
    assert.deepEqual(kinds(), ["BEGIN", "SELECT", "UPDATE", "COMMIT", "one-statement UPDATE"], "k1 forgotten, k3 remembered");
  });
});

describe("a machine without PostgreSQL", () => {
  it("fails the PostgreSQL tests with the package to install, never skips them", async () => {
    await assert.rejects(startPostgresServer({ binDir: "/nonexistent/postgresql/bin" }), /Install Debian's postgresql \(apt-get install postgresql\)/);
  });
});
