/**
 * A SIGTERM ends the shop with exit code 0 within 5 s, whatever it is doing: a cleanup sweep of a
 * large backlog, writes in flight, the dashboard's open event stream, a WAL checkpoint of a large
 * file, a frozen Redis. Nothing acknowledged is lost, and the next start carries on. Real server
 * processes, real signals (a deploy or a restart by systemd or Kubernetes looks exactly like this).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { addTestProducts, cartOf, Client, freshDatabase, root, SECRET_A, startServerProcess } from "./test/harness.ts";
import { INSTRUCTOR_PASSWORD } from "./test/classroom.ts";
import { startRedisServer } from "./test/redis-server.ts";

/** What systemd's and Kubernetes' default stop allows before they call it a failure is longer; this is our promise. */
const PROMISED_MS = 5_000;

type ServerProcess = ReturnType<typeof startServerProcess>;

/** SIGTERM, then the exit code and how long it took. */
async function terminate(server: ServerProcess) {
  const started = performance.now();
  server.child.kill("SIGTERM");
  const code = await server.exited;
  return { code, ms: performance.now() - started };
}

function assertQuickCleanExit({ code, ms }: { code: number | null; ms: number }, server: ServerProcess) {
  assert.equal(code, 0, `exit code 0 (output:\n${server.output().slice(-2000)})`);
  assert.ok(ms < PROMISED_MS, `ended in ${Math.round(ms)} ms, promised under ${PROMISED_MS} ms`);
  assert.match(server.output(), /"msg":"bye"/);
}

/** @rows sessions in one INSERT … SELECT (through HTTP they would take minutes), expiring after @at. */
const SEED_SQL = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
  INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent)
  SELECT lower(hex(randomblob(32))), '{"cart":[]}', NULL, @at - 60000, @at - 60000, @at + i, NULL FROM n`;

const countSessions = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Shoppers adding distinct products until stopped; what got its redirect (303) is acknowledged. */
function startShoppers(url: string, products: number[], count: number) {
  let stop = false;
  const shoppers = Array.from({ length: count }, (_, i) => ({ client: new Client(url), acked: new Set<number>(), index: i }));
  const running = shoppers.map(async (s) => {
    s.client.timeoutMs = 8_000;
    for (const id of products.filter((_, j) => j % count === s.index)) {
      if (stop) return;
      try {
        const res = await s.client.post("/cart/items", { productId: String(id), quantity: "1", returnTo: "/cart" });
        if (res.status === 303) s.acked.add(id);
      } catch {
        return; // the server went away: whatever was not answered was not acknowledged
      }
    }
  });
  return {
    shoppers,
    acked: () => shoppers.reduce((n, s) => n + s.acked.size, 0),
    async stop() {
      stop = true;
      await Promise.all(running);
    },
  };
}

/** Every acknowledged product is in its shopper's cart, as the server at `url` shows it. */
async function assertNothingLost(url: string, shoppers: { client: Client; acked: Set<number> }[]) {
  for (const s of shoppers) {
    const again = new Client(url);
    for (const [name, value] of s.client.cookies) again.cookies.set(name, value);
    const cart = await cartOf(again);
    for (const id of s.acked) assert.ok(cart.has(id), `acknowledged product ${id} is in the cart after the restart`);
  }
}

describe("a SIGTERM ends the shop with code 0 within 5 s", () => {
  it("during the cleanup sweep of 300,000 expired sessions, and the next start carries on sweeping", async () => {
    const { db, file, dir } = freshDatabase();
    db.prepare(SEED_SQL).run({ rows: 300_000, at: Date.now() - 3_600_000 });
    db.close();
    const env = { DATABASE_PATH: file, SESSION_SECRETS: SECRET_A };
    let server = startServerProcess(env);
    try {
      const shopper = new Client(await server.listening);
      assert.equal((await shopper.get("/")).status, 200, "the shop serves while it sweeps");
      await sleep(1_000); // well into the sweep: at a quarter of the event loop, 300k rows take tens of seconds
      const before = countSessions(file);
      assert.ok(before > 0, "the sweep was still running at the SIGTERM");
      assertQuickCleanExit(await terminate(server), server);
      const left = countSessions(file);
      assert.ok(left > 0 && left <= before, `the sweep stopped between batches (${left} rows left)`);

      server = startServerProcess(env);
      await server.listening;
      for (let waited = 0; countSessions(file) >= left; waited += 100) {
        assert.ok(waited < 10_000, "the next start goes on deleting expired sessions");
        await sleep(100);
      }
      assertQuickCleanExit(await terminate(server), server);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with add-to-cart requests in flight, and every acknowledged one is there after the restart", async () => {
    const { db, file, dir } = freshDatabase();
    const products = addTestProducts(db, 400);
    db.close();
    const env = { DATABASE_PATH: file, SESSION_SECRETS: SECRET_A };
    let server = startServerProcess(env);
    try {
      const load = startShoppers(await server.listening, products, 8);
      for (let waited = 0; load.acked() < 40; waited += 20) {
        assert.ok(waited < 20_000, "the shoppers' adds are answered");
        await sleep(20);
      }
      const exit = await terminate(server);
      await load.stop();
      assertQuickCleanExit(exit, server);

      server = startServerProcess(env);
      await assertNothingLost(await server.listening, load.shoppers);
      assertQuickCleanExit(await terminate(server), server);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with the instructor dashboard's live event stream open", async () => {
    const { db, file, dir } = freshDatabase();
    db.close();
    const server = startServerProcess({ DATABASE_PATH: file, SESSION_SECRETS: SECRET_A, CLASSROOM: "1", INSTRUCTOR_PASSWORD });
    try {
      const url = await server.listening;
      const teacher = new Client(url);
      await teacher.get("/instructor/login");
      assert.equal((await teacher.post("/instructor/login", { password: INSTRUCTOR_PASSWORD, next: "/instructor" })).status, 303);
      const res = await fetch(`${url}/instructor/events`, { headers: { cookie: teacher.cookieHeader() } });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      await reader.read(); // the stream has started
      const streamEnded = (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          // a reset also ends it
        }
      })();
      assertQuickCleanExit(await terminate(server), server);
      await streamEnded;
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("while a crashed writer's WAL of 300,000 new sessions is being checkpointed, and none of them is lost", async () => {
    const { db, file, dir } = freshDatabase();
    db.close();
    // Another process writes them without checkpointing and is killed (SIGKILL) before it can close:
    // the shop starts with the whole WAL still to copy into the database file.
    const writer = spawnSync(
      process.execPath,
      [
        "-e",
        `const db = new (require("better-sqlite3"))(${JSON.stringify(file)});
         db.pragma("wal_autocheckpoint = 0");
         db.prepare(${JSON.stringify(SEED_SQL)}).run({ rows: 300000, at: ${Date.now() + 3_600_000} });
         process.kill(process.pid, "SIGKILL");`,
      ],
      { cwd: root },
    );
    assert.equal(writer.signal, "SIGKILL", String(writer.stderr));
    const walMb = fs.statSync(`${file}-wal`).size / 1e6;
    assert.ok(walMb > 20, `a large WAL (${walMb.toFixed(0)} MB)`);
    const env = { DATABASE_PATH: file, SESSION_SECRETS: SECRET_A };
    let server = startServerProcess(env);
    try {
      await server.listening;
      assertQuickCleanExit(await terminate(server), server);
      assert.equal(countSessions(file), 300_000);
      server = startServerProcess(env);
      assert.equal((await new Client(await server.listening).get("/")).status, 200);
      assertQuickCleanExit(await terminate(server), server);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("while Redis is frozen (SIGSTOP) with requests waiting on it, and nothing acknowledged is lost", async () => {
    const redis = await startRedisServer();
    const { db, file, dir } = freshDatabase();
    const products = addTestProducts(db, 400);
    db.close();
    const env = { DATABASE_PATH: file, SESSION_SECRETS: SECRET_A, SESSION_STORE: "redis", REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "3000" };
    let server = startServerProcess(env);
    try {
      const load = startShoppers(await server.listening, products, 8);
      for (let waited = 0; load.acked() < 40; waited += 20) {
        assert.ok(waited < 20_000, "the shoppers' adds are answered");
        await sleep(20);
      }
      await redis.kill("SIGSTOP");
      await sleep(200); // the shoppers' next requests are now waiting on Redis
      const exit = await terminate(server);
      await redis.kill("SIGCONT");
      await load.stop();
      assertQuickCleanExit(exit, server);

      server = startServerProcess(env);
      await assertNothingLost(await server.listening, load.shoppers);
      assertQuickCleanExit(await terminate(server), server);
    } finally {
      server.child.kill("SIGKILL");
      await redis.kill("SIGCONT");
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
