/**
 * Checkout under real faults, with real processes:
 *
 * - A busy database: another process holds SQLite's write lock while a shopper checks out. The
 *   checkout waits (up to SQLITE_BUSY_TIMEOUT_MS) and succeeds; held longer, it answers a clear 503
 *   and places nothing. On both server-side techniques that use the file (sqlite, and redis, where
 *   the order is written outside the session transaction).
 * - Redis killed (kill -9) in the middle of checkouts on a real shop process: a retry of the same
 *   form never places a second order, and whenever an order exists the shopper was shown it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawn } from "node:child_process";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import {
  addTestProducts,
  addToCart,
  cartOf,
  Client,
  freshDatabase,
  register,
  root,
  SECRET_A,
  slowPost,
  startServerProcess,
  startTestApp,
  tempDir,
  untilSessionLoaded,
} from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";
import { connectRedisStore } from "../session/redis.ts";

const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };

// Another process that takes the write lock on the shop's file and keeps it for HOLD_MS.
const HOLDER = `
const db = new (require("better-sqlite3"))(process.env.DB_FILE);
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
setTimeout(() => { db.exec("COMMIT"); db.close(); }, Number(process.env.HOLD_MS));
`;

async function holdWriteLock(file: string, ms: number) {
  const child = spawn(process.execPath, ["-e", HOLDER], {
    cwd: root,
    env: { ...process.env, DB_FILE: file, HOLD_MS: String(ms) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const released = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise((resolve, reject) => {
    child.stdout.once("data", resolve);
    child.once("exit", (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });
  return { released };
}

const BUSY_TIMEOUT_MS = 1000;

for (const technique of ["redis", "sqlite"] as const) {
  describe(`checkout while another process holds the database write lock (${technique} technique, busy timeout ${BUSY_TIMEOUT_MS} ms)`, () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
    let app: Awaited<ReturnType<typeof startTestApp>>;
    before(async () => {
      const env: Record<string, string> = { SESSION_STORE: technique, SQLITE_BUSY_TIMEOUT_MS: String(BUSY_TIMEOUT_MS) };
      if (technique === "redis") {
        redis = await startRedisServer();
        env.REDIS_URL = redis.url;
      }
      app = await startTestApp(env);
    });
    after(async () => {
      await app.close();
      await redis?.close();
    });
    const orders = () => (app.db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
    const file = () => app.config.databasePath;

    async function readyShopper(productId: number) {
      const c = app.client();
      await addToCart(c, productId, 1);
      await register(c);
      await c.get("/checkout");
      return c;
    }

    it("a lock held for 500 ms: checkout waits for it and places the order", async (t) => {
      const c = await readyShopper(1);
      const before = orders();
      const lock = await holdWriteLock(file(), 500);
      const started = performance.now();
      const res = await c.post("/checkout", { ...payment, checkoutToken: c.checkoutToken });
      const ms = performance.now() - started;
      await lock.released;
      t.diagnostic(`${technique}: lock held 500 ms -> ${res.status} after ${ms.toFixed(0)} ms`);
      assert.equal(res.status, 303, `answered ${res.status} after ${ms.toFixed(0)} ms: ${res.text.slice(0, 200)}`);
      assert.match(res.location!, /^\/orders\/\d+$/);
      assert.ok(ms >= 300, `it waited for the lock (answered after ${ms.toFixed(0)} ms)`);
      assert.equal(orders(), before + 1);
    });

    it(`a lock held past the busy timeout (2.5 s): a clear 503 with Retry-After after ~${BUSY_TIMEOUT_MS} ms, no order, cart intact`, async (t) => {
      const c = await readyShopper(2);
      const before = orders();
      const lock = await holdWriteLock(file(), 2500);
      const started = performance.now();
      const res = await c.post("/checkout", { ...payment, checkoutToken: c.checkoutToken });
      const ms = performance.now() - started;
      await lock.released;
      t.diagnostic(`${technique}: lock held 2500 ms -> ${res.status} after ${ms.toFixed(0)} ms`);
      assert.equal(res.status, 503);
      assert.ok(res.headers.get("retry-after"), "Retry-After is set");
      assert.match(res.text, /nothing was saved/);
      assert.ok(ms >= BUSY_TIMEOUT_MS * 0.9, `it honoured the busy timeout (gave up after ${ms.toFixed(0)} ms)`);
      assert.ok(ms < 2400, `it gave up at the busy timeout, not when the lock went (${ms.toFixed(0)} ms)`);
      assert.equal(orders(), before);
      assert.deepEqual([...(await cartOf(c))], [[2, 1]]);
    });
  });
}

const TRIALS = 20;

describe(`Redis killed (kill -9) during checkout, ${TRIALS} trials on a real shop process`, () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let shop: ReturnType<typeof startServerProcess>;
  let url: string;
  let dir: string;
  let db: ReturnType<typeof freshDatabase>["db"];
  let productId: number;
  before(async () => {
    redis = await startRedisServer({ persistent: true });
    dir = tempDir();
    const fresh = freshDatabase(dir);
    db = fresh.db;
    [productId] = addTestProducts(db, 1) as [number];
    shop = startServerProcess({ SESSION_STORE: "redis", REDIS_URL: redis.url, DATABASE_PATH: fresh.file, SESSION_SECRETS: SECRET_A });
    url = await shop.listening;
  });
  after(async () => {
    shop.child.kill("SIGTERM");
    await shop.exited;
    db.close();
    await redis.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const orderIds = () => (db.prepare("SELECT id FROM orders ORDER BY id").all() as { id: number }[]).map((r) => r.id);

  /** Bring Redis back and wait until the shop has reconnected (a session read answers 200). */
  async function restartRedis(c: Client) {
    await redis.start();
    // A lock the crashed request held would survive in the append-only file and make the retry
    // wait out its 5 s lifetime: that is the lock doing its job, not what these trials are about.
    const direct = createClient({ url: redis.url });
    await direct.connect();
    for await (const keys of direct.scanIterator({ MATCH: "shop:lock:*" })) if (keys.length > 0) await direct.del(keys);
    await direct.close();
    for (let i = 0; i < 100; i++) {
      if ((await c.get("/cart")).status === 200) return;
      await sleep(50);
    }
    throw new Error(`the shop did not reconnect to Redis:\n${shop.output().slice(-2000)}`);
  }

  it("a retry of the same form never places a second order, and every order placed is shown to the shopper", async () => {
    const c = new Client(url);
    await register(c);
    let duplicates = 0;
    let untold = 0;
    let faulted = 0;
    let lost = 0;
    let afterCommit = 0;
    let leftInCart = 0;
    const log: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await addToCart(c, productId, 1);
      await c.get("/checkout");
      const form = { ...payment, checkoutToken: c.checkoutToken };
      const before = orderIds();
      let done = false;
      const first = c.post("/checkout", form).finally(() => (done = true));
      // Even trials: kill Redis the moment the order row is committed (before the cart is written,
      // or while that write is on its way). Odd trials: at a random moment of the request.
      if (trial % 2 === 0) {
        while (!done && orderIds().length === before.length) await nextTurn();
      } else {
        await sleep(Math.random() * 15);
      }
      const killed = !done;
      if (killed) await redis.kill("SIGKILL");
      const firstReply = await first;
      // "Placed, but the cart could not be emptied": the store failed after the order was committed.
      const flashText = decodeURIComponent(c.cookies.get("shop_flash") ?? "");
      if (firstReply.status === 303 && flashText.includes("empty your cart")) afterCommit++;
      if (!killed) await redis.kill("SIGKILL"); // every trial restarts Redis the same way
      await restartRedis(c);
      const retry = await c.post("/checkout", form);
      const placed = orderIds().slice(before.length);
      const shown = (id: number) => [firstReply, retry].some((r) => r.status === 303 && r.location === `/orders/${id}`);
      if (firstReply.status !== 303) faulted++;
      const cartAfter = await cartOf(c);
      if (cartAfter.size > 0) leftInCart++;
      if (placed.length > 1) duplicates += placed.length - 1;
      if (placed.length === 0) lost++;
      else if (!placed.every(shown)) untold++;
      log.push(
        `trial ${trial}: first ${firstReply.status} ${firstReply.location ?? ""}${flashText.includes("empty your cart") ? " (placed, cart not emptied)" : ""}, ` +
          `retry ${retry.status} ${retry.location ?? ""}, orders placed ${placed.length}, cart after ${cartAfter.size ? "still full" : "empty"}`,
      );
      // Start the next trial with an empty cart whatever happened.
      if (cartAfter.size > 0) {
        await c.get("/cart");
        await c.post(`/cart/items/${productId}/delete`);
      }
    }
    console.log(
      `${TRIALS} trials: ${faulted} first answers were not the order, ${afterCommit} were the order with "cart not emptied" ` +
        `(Redis failed after the commit), ${duplicates} duplicate orders, ${untold} trials with an order the shopper was not shown, ` +
        `${lost} with no order even after the retry, ${leftInCart} with the bought items still in the cart after the retry\n  ${log.join("\n  ")}`,
    );
    assert.equal(duplicates, 0, "a retry of the same checkout placed a second order");
    assert.equal(untold, 0, "an order was placed but the shopper was never shown it");
    assert.equal(lost, 0, "once Redis was back, the retry placed the order");
    assert.equal(leftInCart, 0, "the retry emptied a cart the failed write had left full");
  });
});

describe("checkout while Redis (the session store) is frozen (SIGSTOP), over real HTTP", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    redis = await startRedisServer();
    app = await startTestApp({ SESSION_STORE: "redis", REDIS_URL: redis.url });
  });
  after(async () => {
    redis.signal("SIGCONT");
    await app.close();
    await redis.close();
  });
  const orders = () => app.db.prepare("SELECT id FROM orders").all() as { id: number }[];
  const stock = (id: number) => (app.db.prepare("SELECT stock FROM products WHERE id = ?").get(id) as { stock: number }).stock;

  it("Place order (pressed twice) while Redis is frozen: the 503 page within 3 s each time, no order; after the thaw the same form places exactly one order", {
    timeout: 60_000,
  }, async (t) => {
    const c = app.client();
    c.timeoutMs = 10_000;
    await addToCart(c, 5, 2);
    await register(c);
    await c.get("/checkout");
    const form = { ...payment, checkoutToken: c.checkoutToken };
    const [before, stockBefore] = [orders().length, stock(5)];
    // The first press: Redis freezes after this request has loaded the session, before the order is placed.
    app.clock.advance(app.config.touchIntervalMs);
    const first = slowPost(c, "/checkout", form);
    await untilSessionLoaded(app, c.sessionKey()!);
    redis.signal("SIGSTOP");
    const timed = async (p: Promise<{ status: number; text: string; retryAfter: string | null }>) => {
      const started = performance.now();
      return { ...(await p), ms: performance.now() - started };
    };
    let replies: Awaited<ReturnType<typeof timed>>[];
    try {
      const firstReply = await timed(first.finish().then((r) => ({ status: r.status, text: r.text, retryAfter: r.headers["retry-after"] ?? null })));
      // The second press, still frozen: the page needs the session, so it says so too.
      const secondReply = await timed(c.post("/checkout", form).then((r) => ({ status: r.status, text: r.text, retryAfter: r.headers.get("retry-after") })));
      replies = [firstReply, secondReply];
    } finally {
      redis.signal("SIGCONT");
    }
    for (const [i, r] of replies.entries()) {
      t.diagnostic(`press ${i + 1} with Redis frozen: ${r.status} after ${r.ms.toFixed(0)} ms`);
      assert.equal(r.status, 503, `press ${i + 1}: the 503 page, not ${r.status}: ${r.text.slice(0, 200)}`);
      assert.match(r.text, /Back in a moment/);
      assert.match(r.text, /nothing was saved/);
      assert.equal(r.retryAfter, "5", "Retry-After says when to try again");
      assert.ok(r.ms < 3_000, `press ${i + 1} answered within 3 s (${r.ms.toFixed(0)} ms)`);
    }
    assert.equal(orders().length, before, "no order while Redis was frozen");
    assert.equal(stock(5), stockBefore, "no stock moved while Redis was frozen");

    // After the thaw the shop serves again by itself, and the same form (same checkout token) completes once.
    for (let i = 0; (await c.get("/cart")).status !== 200; i++) {
      if (i > 100) throw new Error("the shop did not recover after SIGCONT");
      await sleep(50); // waits for the real Redis connection, not for a clock
    }
    const retry = await c.post("/checkout", form);
    assert.equal(retry.status, 303, `the retry places the order: ${retry.text.slice(0, 200)}`);
    assert.match(retry.location!, /^\/orders\/\d+$/);
    assert.equal(orders().length, before + 1, "exactly one order");
    assert.equal(stock(5), stockBefore - 2, "stock moved once");
    assert.equal((await cartOf(c)).size, 0, "the cart is empty after the order");
    const again = await c.post("/checkout", form);
    assert.equal(again.status, 303);
    assert.equal(again.location, retry.location, "pressing once more lands on the same order");
    assert.equal(orders().length, before + 1, "still exactly one order");
  });
});

describe("checkout while another instance writes the same session (Redis technique)", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let other: Awaited<ReturnType<typeof connectRedisStore>>;
  before(async () => {
    redis = await startRedisServer();
    app = await startTestApp({ SESSION_STORE: "redis", REDIS_URL: redis.url });
    other = await connectRedisStore({ redisUrl: redis.url, redisTimeoutMs: 1_500 });
  });
  after(async () => {
    await other.close();
    await app.close();
    await redis.close();
  });
  const orders = () => app.db.prepare("SELECT id FROM orders").all() as { id: number }[];

  it("the session changed on another instance between this request's read and its write: 'Thank you! Order #N is placed.', one order, the other write kept", async () => {
    const c = app.client();
    await addToCart(c, 5, 1);
    await register(c);
    await c.get("/checkout");
    const key = c.sessionKey()!;
    const before = orders().length;
    app.clock.advance(app.config.touchIntervalMs);
    const pending = slowPost(c, "/checkout", { ...payment, checkoutToken: c.checkoutToken });
    await untilSessionLoaded(app, key);
    // Another instance writes the session now: the copy this instance read (and remembers) is outdated,
    // so a one-script write would conflict and run the change (which places the order) again.
    assert.ok(await other.update(key, app.clock.now(), (s) => ({ ...s, userAgent: "written by another instance" })));
    const reply = await pending.finish();
    assert.equal(reply.status, 303, reply.text.slice(0, 200));
    const orderId = Number(/^\/orders\/(\d+)$/.exec(String(reply.headers.location))?.[1]);
    const flashText = decodeURIComponent(reply.setCookie.join("\n"));
    assert.ok(
      flashText.includes(`Thank you! Order #${orderId} is placed.`),
      `the shopper is thanked for a new order, not told it was already placed: ${flashText}`,
    );
    assert.equal(orders().length, before + 1, "exactly one order");
    const stored = await app.store.peek(key);
    assert.equal(stored?.userAgent, "written by another instance", "the write was made on the fresh record: the other instance's change is kept");
    assert.equal((await cartOf(c)).size, 0, "the cart is empty after the order");
  });
});
