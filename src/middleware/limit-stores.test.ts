/**
 * The rate limits hold across instances: two shops on one database file, on one Redis, or on one
 * PostgreSQL database, allow together what one allows. When Redis cannot count, the limited form is refused
 * (503), never counted per process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { createClient } from "redis";
import { StoreUnavailableError } from "../errors.ts";
import { register, startTestApp, tempDir } from "../test/harness.ts";
import { startPostgresServer } from "../test/postgres-server.ts";
import { startRedisServer } from "../test/redis-server.ts";
import { createRedisLimitStores } from "./limit-stores.ts";

type App = Awaited<ReturnType<typeof startTestApp>>;

/** 10 wrong passwords for one account, alternating between the instances; then the right one on each. */
async function guessAcross(instances: App[]) {
  const owner = instances[0]!.client();
  const { email, password } = await register(owner);
  const attackers = instances.map((i) => i.client());
  for (const a of attackers) await a.get("/login");
  const statuses: number[] = [];
  for (let n = 0; n < 10; n++) statuses.push((await attackers[n % attackers.length]!.post("/login", { email, password: "wrong guess 123" })).status);
  const after = await Promise.all(attackers.map((a) => a.post("/login", { email, password })));
  return { statuses, after };
}

describe("rate limits shared by every instance", () => {
  it("two instances on one database file: 10 failed sign-ins in all, then both say 429", async () => {
    const dir = tempDir();
    const a = await startTestApp({}, { dir });
    const b = await startTestApp({}, { dir });
    try {
      const { statuses, after } = await guessAcross([a, b]);
      assert.deepEqual(statuses, Array(10).fill(401), "five wrong guesses on each instance");
      assert.deepEqual(
        after.map((r) => r.status),
        [429, 429],
        "the account's 10 guesses are used up on both (before: 5 on each, 20 in all)",
      );
      assert.match(after[1]!.text, /Too many failed sign-in attempts for this account/);
    } finally {
      await b.close();
      await a.close();
    }
  });

  describe("with sessions in Redis", () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>>;
    before(async () => {
      redis = await startRedisServer();
    });
    after(() => redis.close());

    it("two instances on separate database files count together in Redis", async () => {
      const env = { SESSION_STORE: "redis", REDIS_URL: redis.url };
      const a = await startTestApp(env);
      const b = await startTestApp(env);
      try {
        const { statuses, after } = await guessAcross([a, b]);
        assert.deepEqual(statuses, Array(10).fill(401));
        assert.deepEqual(
          after.map((r) => r.status),
          [429, 429],
          "one count for the fleet",
        );
        const keys = await redisKeys(redis.url, "rl:sign-in-account:*");
        assert.equal(keys.length, 1, "the count is one key in Redis");
      } finally {
        await b.close();
        await a.close();
      }
    });

    it("a frozen or restarted Redis: the count is refused (503) within the deadline, never kept per process, and counts again after", async () => {
      const client = createClient({ url: redis.url, disableOfflineQueue: true });
      client.on("error", () => {});
      await client.connect();
      try {
        const store = createRedisLimitStores(client, { timeoutMs: 300 }).storeFor("test");
        await store.init?.({ windowMs: 60_000 } as Parameters<NonNullable<typeof store.init>>[0]);
        assert.equal((await store.increment("client-1")).totalHits, 1);

        redis.signal("SIGSTOP");
        const started = Date.now();
        const frozen = await Promise.resolve(store.increment("client-1")).then(
          () => null,
          (e: unknown) => e,
        );
        const waited = Date.now() - started;
        redis.signal("SIGCONT");
        assert.ok(frozen instanceof StoreUnavailableError, `refused with the 503 error, not ${String(frozen)}`);
        assert.ok(waited >= 250 && waited < 1_500, `within the deadline: ${waited} ms`);

        // A restart empties Redis's script cache too: the next counts must still work.
        await redis.stop();
        await redis.start();
        for (let i = 0; i < 50 && !client.isReady; i++) await new Promise((r) => setTimeout(r, 50));
        let hits: number | null = null;
        for (let i = 0; i < 20 && hits === null; i++) {
          hits = await Promise.resolve(store.increment("client-1")).then(
            (r) => r.totalHits,
            () => null,
          );
          if (hits === null) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(hits, 1, "counting again after the restart (the old count went with Redis's data)");
      } finally {
        await client.close();
      }
    });
  });
});

describe("rate limits shared by every instance, with sessions in PostgreSQL", () => {
  it("two instances on separate SQLite files and one PostgreSQL database count together there", async () => {
    const server = await startPostgresServer();
    try {
      const env = { SESSION_STORE: "postgres", DATABASE_URL: await server.database() };
      const a = await startTestApp(env);
      const b = await startTestApp(env);
      try {
        const { statuses, after } = await guessAcross([a, b]);
        assert.deepEqual(statuses, Array(10).fill(401));
        assert.deepEqual(
          after.map((r) => r.status),
          [429, 429],
          "one count for the fleet",
        );
        const client = new pg.Client({ connectionString: env.DATABASE_URL });
        await client.connect();
        const { rows } = await client.query<{ hits: number }>("SELECT hits FROM rate_limits WHERE key LIKE 'sign-in-account:%'");
        await client.end();
        assert.deepEqual(
          rows.map((r) => r.hits),
          [12],
          "10 failures and the 2 refused tries, in one row",
        );
      } finally {
        await b.close();
        await a.close();
      }
    } finally {
      await server.close();
    }
  });
});

async function redisKeys(url: string, pattern: string) {
  const c = createClient({ url });
  await c.connect();
  try {
    return await c.keys(pattern);
  } finally {
    await c.close();
  }
}
