/**
 * The Redis technique across real processes: two shop instances on one real redis-server share
 * sessions (cart, sign-in, sign-out), 50 concurrent adds split across both lose nothing, an outage
 * gives 503s and loses no acknowledged write, and start-up without Redis says what to start.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { addTestProducts, cartOf, Client, freshDatabase, register, SECRET_A, startServerProcess, tempDir } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";

const K = 50;

/** A copy of `c` talking to another instance: same cookies, same CSRF token. */
function on(c: Client, baseUrl: string) {
  const other = new Client(baseUrl);
  for (const [k, v] of c.cookies) other.cookies.set(k, v);
  other.csrf = c.csrf;
  return other;
}

describe("redis technique, two instances", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let dir: string;
  let servers: ReturnType<typeof startServerProcess>[];
  let a: string;
  let b: string;
  let ids: number[];
  before(async () => {
    redis = await startRedisServer({ persistent: true });
    dir = tempDir();
    const { db, file } = freshDatabase(dir);
    ids = addTestProducts(db, K);
    db.close();
    servers = ["a", "b"].map((name) =>
      startServerProcess({ SESSION_STORE: "redis", REDIS_URL: redis.url, DATABASE_PATH: file, SESSION_SECRETS: SECRET_A, INSTANCE_NAME: `shop-${name}` }),
    );
    [a, b] = (await Promise.all(servers.map((s) => s.listening))) as [string, string];
  });
  after(async () => {
    for (const s of servers) s.child.kill("SIGTERM");
    await Promise.all(servers.map((s) => s.exited));
    await redis.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("signing in on A shows the same cart on B; each response names its instance", async () => {
    const onA = new Client(a);
    await onA.get("/");
    await onA.post("/cart/items", { productId: "1", quantity: "2" });
    const account = await register(onA);
    const onB = on(onA, b);
    const page = await onB.get("/cart");
    assert.equal(page.headers.get("x-served-by"), "shop-b");
    assert.match(page.text, new RegExp(`Signed in as <strong>${account.email}</strong>`));
    assert.deepEqual([...(await cartOf(onB))], [[1, 2]]);
  });

  it(`${K} concurrent adds split across A and B: every acknowledged add is in the cart`, async () => {
    const c = new Client(a);
    await c.get("/");
    await c.post("/cart/items", { productId: "2", quantity: "1" });
    await c.get("/cart");
    const replies = await Promise.all(ids.map((id, i) => on(c, i % 2 ? b : a).post("/cart/items", { productId: String(id), quantity: "1" })));
    const acked = ids.filter((_, i) => replies[i]!.status === 303);
    assert.equal(acked.length, K, `every add was acknowledged (statuses: ${[...new Set(replies.map((r) => r.status))]})`);
    const cart = await cartOf(c);
    assert.deepEqual(
      acked.filter((id) => cart.get(id) !== 1),
      [],
      "acknowledged but missing",
    );
  });

  it("signing out on A is final on B: the old cookie is dead there too", async () => {
    const onA = new Client(a);
    const account = await register(onA);
    const before = on(onA, b);
    await onA.get("/");
    await onA.post("/logout");
    const page = await before.get("/cart");
    assert.doesNotMatch(page.text, new RegExp(account.email));
    assert.match(page.text, /Your cart is empty/);
  });

  it("Redis stopped mid-run: 503 pages while it is down, nothing acknowledged is lost, service resumes by itself", async () => {
    const c = new Client(a);
    await c.get("/");
    await c.post("/cart/items", { productId: "3", quantity: "1" });
    await redis.stop();
    const down = await on(c, b).post("/cart/items", { productId: "4", quantity: "1" });
    assert.equal(down.status, 503);
    assert.match(down.text, /nothing was saved/);
    assert.equal(down.headers.get("retry-after"), "5");
    assert.equal((await on(c, a).get("/cart")).status, 503, "a page that needs the session says so, not an empty cart");
    await redis.start();
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await on(c, b).get("/cart")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, "B serves again after Redis returns, without a restart");
    assert.deepEqual([...(await cartOf(on(c, b)))], [[3, 1]], "the add acknowledged before the outage is there; the refused one is not");
    // A reconnects on its own schedule (backoff up to 2 s): wait until it answers too.
    let statusA = 0;
    for (let i = 0; i < 60 && statusA !== 200; i++) {
      statusA = (await c.get("/cart")).status; // also the form's CSRF token, now that the session exists
      if (statusA !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(statusA, 200, "A serves again after Redis returns, without a restart");
    const again = await c.post("/cart/items", { productId: "5", quantity: "1" });
    assert.equal(again.status, 303, `A writes again too: ${again.text.slice(0, 2000)}`);
    assert.deepEqual(
      [...(await cartOf(on(c, b)))],
      [
        [3, 1],
        [5, 1],
      ],
    );
  });
});

describe("redis technique, start-up", () => {
  it("refuses to start when Redis is not reachable, and says what to start", async () => {
    const dir = tempDir();
    const server = startServerProcess({
      SESSION_STORE: "redis",
      REDIS_URL: "redis://127.0.0.1:1",
      DATABASE_PATH: path.join(dir, "shop.sqlite"),
      SESSION_SECRETS: SECRET_A,
    });
    assert.equal(await server.exited, 1);
    assert.match(server.output(), /Redis is not reachable at redis:\/\/127\.0\.0\.1:1/);
    assert.match(server.output(), /redis-server/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
