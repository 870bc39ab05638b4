/**
 * The instructor dashboard while the session store is out, over real HTTP on the in-process app
 * and a real redis-server: see the comment below.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, startTestApp, type Client } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";

const PASSWORD = "a long classroom password";
const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
async function shop(env: Record<string, string> = {}) {
  const app = await startTestApp({ INSTRUCTOR_PASSWORD: PASSWORD, ...env });
  apps.push(app);
  return app;
}
async function signIn(c: Client, password = PASSWORD) {
  await c.get("/instructor/login");
  return c.post("/instructor/login", { password, next: "/instructor" });
}

/**
 * The dashboard while the session store is out, over real HTTP on the in-process app: Redis frozen
 * (SIGSTOP: connected but silent, the case that hangs without deadlines) and Redis stopped. The
 * process-level crash test (src/session/redis-faults.test.ts) covers kill -9 with the live stream
 * on a real server process; these cover the page, the stream and the buttons, each with a bound.
 */
describe("instructor dashboard while Redis is out", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  after(async () => {
    redis?.signal("SIGCONT");
    await redis?.close();
  });

  async function teacherWithShopper() {
    redis ??= await startRedisServer({ persistent: true }); // a stop/start keeps the records
    app ??= await shop({ SESSION_STORE: "redis", REDIS_URL: redis.url });
    const teacher = app.client();
    teacher.timeoutMs = 10_000;
    await signIn(teacher);
    const shopper = app.client();
    await addToCart(shopper, 1, 1);
    return { teacher, shopper };
  }

  /** Read an event stream until `done(seen)` holds; the whole text seen so far. */
  async function readStream(c: Client, done: (seen: string) => boolean, ms: number) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    let seen = "";
    try {
      const res = await fetch(`${app.url}/instructor/events`, { headers: { cookie: c.cookieHeader() }, signal: controller.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      while (!done(seen)) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        seen += new TextDecoder().decode(value);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return seen;
  }
  const lastLive = (seen: string) => seen.split("event: live").at(-1) ?? "";

  it("Redis frozen (SIGSTOP): the page and the live stream say 'Store unavailable' within 3 s, and both recover after the thaw", {
    timeout: 60_000,
  }, async () => {
    const { teacher, shopper } = await teacherWithShopper();
    redis.signal("SIGSTOP");
    let page: Awaited<ReturnType<Client["get"]>>;
    let pageMs: number;
    let streamed: string;
    let streamMs: number;
    try {
      let started = performance.now();
      page = await teacher.get("/instructor");
      pageMs = performance.now() - started;
      started = performance.now();
      streamed = await readStream(teacher, (seen) => seen.includes("event: live"), 8_000);
      streamMs = performance.now() - started;
    } finally {
      redis.signal("SIGCONT");
    }
    assert.equal(page.status, 200, `the dashboard itself answers, not ${page.status}`);
    assert.ok(pageMs < 3_000, `the page answered within 3 s (${pageMs.toFixed(0)} ms)`);
    assert.match(page.text, /Store unavailable: the session store \(redis\) did not answer/);
    assert.match(page.text, /data-testid="technique">redis</, "the rest of the dashboard is there");
    assert.match(lastLive(streamed), /data-testid=\\"store-unavailable\\"/, "the stream's update says the store is unavailable");
    assert.ok(streamMs < 3_000, `the stream's update came within 3 s (${streamMs.toFixed(0)} ms)`);

    const again = await teacher.get("/instructor");
    assert.equal(again.status, 200);
    assert.doesNotMatch(again.text, /Store unavailable/, "the page recovers by itself after the thaw");
    assert.match(again.text, new RegExp(`data-fingerprint="${shopper.sessionKey()!.slice(0, 8)}"`), "and lists the shopper again");
    const live = await readStream(teacher, (seen) => seen.includes("event: live"), 8_000);
    assert.doesNotMatch(lastLive(live), /store-unavailable/);
    assert.match(lastLive(live), /data-testid=\\"live-count\\">1</);
  });

  it("an instructor who is also shopping in that browser still gets the dashboard and its stream, not the 503 page, while Redis is frozen", {
    timeout: 60_000,
  }, async () => {
    const { teacher } = await teacherWithShopper();
    await addToCart(teacher, 2, 1); // the same browser has a shop session too (the labs work that way)
    assert.ok(teacher.cookies.has("shop_sid"));
    redis.signal("SIGSTOP");
    let page: Awaited<ReturnType<Client["get"]>>;
    let streamed: string;
    try {
      page = await teacher.get("/instructor");
      streamed = await readStream(teacher, (seen) => seen.includes("event: live"), 8_000);
    } finally {
      redis.signal("SIGCONT");
    }
    assert.equal(page.status, 200, `the dashboard, not the ${page.status} page`);
    assert.match(page.text, /Store unavailable: the session store \(redis\) did not answer/);
    assert.match(lastLive(streamed), /data-testid=\\"store-unavailable\\"/, "the stream answers (an EventSource gives up for good on an error page)");
    const back = await teacher.get("/cart");
    assert.equal(back.status, 200);
    assert.equal(cartBadge(back), 1, "the instructor's own cart is still there after the thaw");
  });

  it("Redis stopped: Revoke and Expire give the 503 page within 3 s and change nothing; Revoke works once Redis is back", { timeout: 60_000 }, async () => {
    const { teacher, shopper } = await teacherWithShopper();
    const key = shopper.sessionKey()!;
    await teacher.get("/instructor");
    await redis.stop();
    let replies: { what: string; status: number; text: string; ms: number }[] = [];
    let page: Awaited<ReturnType<Client["get"]>>;
    try {
      page = await teacher.get("/instructor");
      for (const what of ["revoke", "expire"]) {
        const started = performance.now();
        const r = await teacher.post(`/instructor/sessions/${key}/${what}`);
        replies.push({ what, status: r.status, text: r.text, ms: performance.now() - started });
      }
    } finally {
      await redis.start();
    }
    assert.equal(page.status, 200);
    assert.match(page.text, /Store unavailable/);
    for (const r of replies) {
      assert.equal(r.status, 503, `${r.what}: the 503 page, not ${r.status}: ${r.text.slice(0, 200)}`);
      assert.match(r.text, /Back in a moment/);
      assert.ok(r.ms < 3_000, `${r.what} answered within 3 s (${r.ms.toFixed(0)} ms)`);
    }
    replies = [];
    // node-redis reconnects with backoff: the dashboard lists the store again by itself.
    for (let i = 0; /Store unavailable/.test((await teacher.get("/instructor")).text); i++) {
      if (i > 100) throw new Error("the dashboard did not recover after Redis came back");
      await new Promise((r) => setTimeout(r, 50)); // waits for the real reconnection, not for a clock
    }
    assert.match((await teacher.get("/instructor")).text, new RegExp(`data-fingerprint="${key.slice(0, 8)}"`), "the refused buttons changed nothing");
    assert.equal(cartBadge(await shopper.get("/cart")), 1, "the shopper still has the cart");
    await teacher.get("/instructor");
    assert.equal((await teacher.post(`/instructor/sessions/${key}/revoke`)).status, 303, "Revoke works once Redis is back");
    assert.doesNotMatch((await teacher.get("/instructor")).text, new RegExp(`data-fingerprint="${key.slice(0, 8)}"`));
    assert.equal(cartBadge(await shopper.get("/cart")), 0, "the revoked shopper's cookie is dead");
  });
});

/** The number on the header's cart badge. */
function cartBadge(res: { text: string }) {
  const m = /aria-label="Cart, (\d+) items?"/.exec(res.text);
  return Number(m![1]);
}
