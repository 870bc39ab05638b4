/**
 * The Redis technique under faults, with real processes and real signals: shop instances as `npm
 * start` runs them, a real redis-server (AOF, fsync always) that is frozen (SIGSTOP), crashed
 * (kill -9) and restarted, an instance paused past its lock, an instance killed while it holds a
 * lock behind a slow link. Each test asserts what a shopper would notice: a 503 with Retry-After
 * within 3 s instead of a hang, every acknowledged add in the cart, a retry that works, a process
 * that stays alive.
 *
 * FAULT_TRIALS=N repeats the racy ones N times (`npm run test:faults` runs 10).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { createClient } from "redis";
import { addTestProducts, cartOf, Client, freshDatabase, SECRET_A, startServerProcess, tempDir } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";
import { startTcpProxy } from "../test/tcp-proxy.ts";

const TRIALS = Number(process.env.FAULT_TRIALS ?? 2);
const PASSWORD = "instructor-password-for-tests";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A copy of `c` talking to another instance: same cookies, same CSRF token. */
function on(c: Client, baseUrl: string) {
  const other = new Client(baseUrl);
  for (const [k, v] of c.cookies) other.cookies.set(k, v);
  other.csrf = c.csrf;
  other.timeoutMs = c.timeoutMs;
  return other;
}

/** A request's status, or 0 when no answer came within the client's timeout. */
async function statusOf(p: Promise<{ status: number }>) {
  try {
    return (await p).status;
  } catch {
    return 0;
  }
}

/** Poll until `check` holds; returns how long that took (a figure for docs/scaling.md). */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const started = Date.now();
  const end = started + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`timed out waiting until ${what}`);
}

const alive = (server: ReturnType<typeof startServerProcess>) => server.child.exitCode === null && server.child.signalCode === null;

describe("redis technique under faults (real processes and signals)", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let dir: string;
  let file: string;
  let ids: number[];
  const servers: ReturnType<typeof startServerProcess>[] = [];
  let a: ReturnType<typeof startServerProcess>; // talks to Redis through the proxy
  let b: ReturnType<typeof startServerProcess>;
  let urlA: string;
  let urlB: string;

  const startInstance = (name: string, redisUrl: string) => {
    const server = startServerProcess({
      SESSION_STORE: "redis",
      REDIS_URL: redisUrl,
      DATABASE_PATH: file,
      SESSION_SECRETS: SECRET_A,
      INSTANCE_NAME: name,
      INSTRUCTOR_PASSWORD: PASSWORD,
    });
    servers.push(server);
    return server;
  };

  before(async () => {
    redis = await startRedisServer({ persistent: true });
    proxy = await startTcpProxy(redis.port);
    dir = tempDir();
    const fresh = freshDatabase(dir);
    file = fresh.file;
    ids = addTestProducts(fresh.db, 200);
    fresh.db.close();
    a = startInstance("shop-a", proxy.url);
    b = startInstance("shop-b", redis.url);
    [urlA, urlB] = await Promise.all([a.listening, b.listening]);
  });
  after(async () => {
    for (const s of servers) {
      if (alive(s)) s.child.kill("SIGCONT");
      s.child.kill("SIGTERM");
    }
    await Promise.all(servers.map((s) => s.exited));
    await proxy.close();
    await redis.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function shopper(url: string) {
    const c = new Client(url);
    c.timeoutMs = 10_000;
    await c.get("/");
    await c.post("/cart/items", { productId: "1", quantity: "1" });
    await c.get("/cart"); // the CSRF token of the session just made
    return c;
  }

  it("a frozen Redis (SIGSTOP) gives the 503 page with Retry-After within 3 s, refuses what it could not save, and service resumes when it thaws", {
    timeout: 60_000,
  }, async (t) => {
    const c = await shopper(urlB);
    redis.signal("SIGSTOP");
    let add: Awaited<ReturnType<Client["post"]>>;
    let page: Awaited<ReturnType<Client["get"]>>;
    let took: number;
    try {
      const started = Date.now();
      [add, page] = await Promise.all([on(c, urlB).post("/cart/items", { productId: "2", quantity: "1" }), on(c, urlA).get("/cart")]);
      took = Date.now() - started;
    } finally {
      redis.signal("SIGCONT");
    }
    assert.equal(add.status, 503);
    assert.match(add.text, /nothing was saved/);
    assert.equal(add.headers.get("retry-after"), "5");
    assert.equal(page.status, 503, "a page that needs the session says so instead of hanging");
    assert.ok(took < 3_000, `answered within 3 s (took ${took} ms)`);
    assert.ok(alive(a) && alive(b), "both instances are still running");
    const recovered = await until(
      "both instances serve again",
      async () => (await on(c, urlA).get("/cart")).status === 200 && (await on(c, urlB).get("/cart")).status === 200,
    );
    t.diagnostic(`frozen Redis: 503 after ${took} ms; both instances served again ${recovered} ms after SIGCONT`);
    assert.deepEqual([...(await cartOf(on(c, urlB)))], [[1, 1]], "the add refused during the freeze did not land when Redis thawed");
  });

  it(`an instance paused (SIGSTOP 5.4 s) in the middle of writes never erases an add acknowledged meanwhile by the other (${TRIALS} trials)`, {
    timeout: 60_000 + TRIALS * 20_000,
  }, async (t) => {
    let lost = 0;
    let acknowledged = 0;
    const raw = createClient({ url: redis.url });
    raw.on("error", () => {}); // a later test kills Redis; this client is closed by then
    await raw.connect();
    t.after(() => raw.close().catch(() => {}));
    for (let trial = 0; trial < TRIALS; trial++) {
      const c = await shopper(urlB);
      const products = ids.slice(0, 30); // a new shopper (session) each trial
      const toB = products.slice(1);
      // An add to A; A is frozen while Redis has granted its lock but the reply is still on the
      // (slowed) way back, so A wakes up holding a record read before the pause. The offset
      // alternates so that both "paused before the read arrived" and "after" are tried.
      // A writes in one compare-and-set script when nobody else wrote since its read, and then takes
      // no lock at all. So A's write is held 400 ms on the link while B saves the first of its adds:
      // A's script then finds the record changed, takes the lock and sends the fresh record back.
      const toA = products.slice(0, 1);
      const statusesB: number[] = [];
      let aRead = false;
      proxy.replyDelayMs = 250;
      proxy.rule = (command) => {
        if (command[0] === "GET") aRead = true;
        return command.some((w) => w.includes('{"sealed":"v1.')) ? { delayMs: 400 } : undefined;
      };
      const replies = toA.map((id) => statusOf(on(c, urlA).post("/cart/items", { productId: String(id), quantity: "1" })));
      await until("A has read the session", async () => aRead, 5_000);
      statusesB.push(await statusOf(on(c, urlB).post("/cart/items", { productId: String(toB[0]), quantity: "1" })));
      await until("A holds the lock", async () => (await raw.keys("shop:lock:*")).length > 0, 5_000);
      await sleep(trial % 2 === 0 ? 100 : 300);
      a.child.kill("SIGSTOP");
      proxy.replyDelayMs = 0;
      proxy.rule = undefined;
      // Meanwhile the shopper keeps adding through B, one after another, as a busy second tab would.
      const pausedUntil = Date.now() + 5_400;
      for (const id of toB.slice(1)) {
        if (Date.now() >= pausedUntil) break;
        statusesB.push(await statusOf(on(c, urlB).post("/cart/items", { productId: String(id), quantity: "1" })));
        await sleep(100);
      }
      await sleep(Math.max(0, pausedUntil - Date.now()));
      a.child.kill("SIGCONT");
      const statuses = [...(await Promise.all(replies)), ...statusesB];
      if (process.env.DEBUG_FAULTS) console.log(statuses);
      assert.deepEqual(
        statuses.filter((s) => s !== 303 && s !== 503),
        [],
        `only 303 (saved) or 503 (nothing saved): ${statuses}`,
      );
      await sleep(500);
      const cart = await cartOf(on(c, urlB));
      const acked = products.filter((_, i) => statuses[i] === 303);
      acknowledged += acked.length;
      lost += acked.filter((id) => !cart.has(id)).length;
      const refusedButThere = products.filter((id, i) => statuses[i] === 503 && cart.has(id));
      assert.deepEqual(refusedButThere, [], "an add answered 'nothing was saved' is not in the cart");
    }
    t.diagnostic(`paused instance: ${TRIALS} trials, ${acknowledged} adds acknowledged, ${lost} lost`);
    assert.equal(lost, 0, `acknowledged adds lost: ${lost} of ${acknowledged}`);
    assert.ok(alive(a) && alive(b));
  });

  it("after an instance dies holding a shopper's lock (kill -9 mid-write), the shopper's immediate retry on another instance succeeds", {
    timeout: 60_000,
  }, async (t) => {
    const victim = startInstance("shop-doomed", proxy.url);
    const urlV = await victim.listening;
    const c = await shopper(urlB);
    // The doomed instance takes the lock and reads; its write then hangs on the slow link. (Session
    // data is sealed at rest, so the write is known by its sealed record, not by the product in it;
    // shop-a, the other instance on this proxy, gets no request meanwhile.) An uncontended write is
    // one compare-and-set script that takes no lock, so B saves an add between the doomed instance's
    // read and its first write (held 300 ms): that script then finds the record changed and takes
    // the lock, and the fenced write that follows is the one that hangs.
    let read = false;
    let writes = 0;
    proxy.rule = (command) => {
      if (command[0] === "GET") read = true;
      if (!command.some((w) => w.includes('{"sealed":"v1.'))) return undefined;
      return { delayMs: ++writes === 1 ? 300 : 30_000 };
    };
    const raw = createClient({ url: redis.url });
    raw.on("error", () => {});
    await raw.connect();
    t.after(() => raw.close().catch(() => {}));
    const doomed = statusOf(on(c, urlV).post("/cart/items", { productId: String(ids[150]), quantity: "1" }));
    await until("the doomed instance has read the session", async () => read, 5_000);
    const between = await on(c, urlB).post("/cart/items", { productId: String(ids[152]), quantity: "1" });
    assert.equal(between.status, 303, "B's add between the doomed instance's read and write is saved");
    await until("the doomed instance holds the lock", async () => (await raw.keys("shop:lock:*")).length > 0, 5_000);
    await sleep(100);
    victim.child.kill("SIGKILL");
    assert.equal(await doomed, 0, "the killed instance never answered");
    proxy.rule = undefined;
    const started = Date.now();
    const retry = await on(c, urlB).post("/cart/items", { productId: String(ids[151]), quantity: "1" });
    const took = Date.now() - started;
    assert.equal(retry.status, 303, `the retry is saved (got ${retry.status}, after ${took} ms)`);
    assert.ok(took < 3_000, `without a long wait for the dead instance's lock (${took} ms)`);
    t.diagnostic(`instance killed holding a lock: the retry was saved after ${took} ms`);
    const cart = await cartOf(on(c, urlB));
    assert.ok(cart.has(ids[151]!) && !cart.has(ids[150]!), "the retried add is there; the dead instance's never-answered add is not");
    assert.ok(cart.has(ids[152]!), "and so is the add B saved before the kill");
  });

  it("kill -9 of Redis and a restart (AOF): every acknowledged add survives, refused ones are absent, no instance dies", { timeout: 60_000 }, async (t) => {
    const c = await shopper(urlB);
    const products = ids.slice(160, 190);
    const statuses: number[] = [];
    for (const [i, id] of products.entries()) {
      if (i === 10) await redis.kill();
      if (i === 20) {
        await redis.start();
        t.diagnostic(
          `Redis restarted after kill -9: both instances served again after ${await until("both instances reconnect", async () => (await on(c, urlA).get("/cart")).status === 200 && (await on(c, urlB).get("/cart")).status === 200)} ms`,
        );
      }
      statuses.push(await statusOf(on(c, i % 2 ? urlB : urlA).post("/cart/items", { productId: String(id), quantity: "1" })));
    }
    assert.deepEqual(
      statuses.filter((s) => s !== 303 && s !== 503),
      [],
      `only saved or 503: ${statuses}`,
    );
    assert.ok(
      statuses.slice(10, 20).every((s) => s === 503),
      "while Redis is down every add gets the 503 page",
    );
    const cart = await cartOf(on(c, urlB));
    const acked = products.filter((_, i) => statuses[i] === 303);
    assert.deepEqual(
      acked.filter((id) => !cart.has(id)),
      [],
      "every acknowledged add is in the cart",
    );
    assert.deepEqual(
      products.filter((id, i) => statuses[i] === 503 && cart.has(id)),
      [],
      "no refused add is in the cart",
    );
    t.diagnostic(
      `kill -9 of Redis: ${acked.length} adds acknowledged, all present; ${statuses.filter((s) => s === 503).length} refused with 503, none present`,
    );
    assert.ok(alive(a) && alive(b));
  });

  it("an open instructor dashboard survives a Redis crash: the live view says 'store unavailable', then recovers; the process never dies", {
    timeout: 60_000,
  }, async (t) => {
    const teacher = new Client(urlB);
    await teacher.get("/instructor/login");
    await teacher.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
    const controller = new AbortController();
    const res = await fetch(`${urlB}/instructor/events`, { headers: { cookie: teacher.cookieHeader() }, signal: controller.signal });
    const reader = res.body!.getReader();
    let seen = "";
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          seen += new TextDecoder().decode(value);
        }
      } catch {
        // aborted at the end of the test
      }
    })();
    await until("the first live update", async () => seen.includes("event: live"));
    await redis.kill();
    let shown = 0;
    try {
      shown = await until(
        "the dashboard says the store is unavailable (or the instance died)",
        async () => seen.includes("store-unavailable") || !alive(b),
        8_000,
      );
      assert.ok(alive(b), "the instance is still running after the outage");
      const page = await teacher.get("/instructor");
      assert.equal(page.status, 200, "the dashboard page itself still answers");
      assert.match(page.text, /Store unavailable/);
    } finally {
      await redis.start();
    }
    const mark = seen.length;
    const back = await until(
      "the live view recovers",
      async () => {
        const latest = seen.slice(mark).split("event: live").at(-1) ?? "";
        return seen.length > mark && latest.includes("active") && !latest.includes("store-unavailable");
      },
      15_000,
    );
    t.diagnostic(`dashboard: 'store unavailable' ${shown} ms after kill -9, live again ${back} ms after the restart`);
    controller.abort();
    await reading;
    assert.ok(alive(a) && alive(b));
  });
});
