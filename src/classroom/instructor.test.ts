/**
 * The instructor dashboard and the classroom switches, through real HTTP: who gets in, what the
 * buttons do to the store, the demo clock, and the vulnerable modes' guard rails.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, readConfig } from "../config.ts";
import { addToCart, register, root, startTestApp, type Client } from "../test/harness.ts";
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

describe("instructor dashboard", () => {
  it("is off, with instructions, when no INSTRUCTOR_PASSWORD is set", async () => {
    const app = await startTestApp();
    apps.push(app);
    const res = await app.client().get("/instructor");
    assert.equal(res.status, 404);
    assert.match(res.text, /The instructor dashboard is off/);
    assert.match(res.text, /INSTRUCTOR_PASSWORD/);
  });

  it("asks for the password, refuses a wrong one and a forged pass, and lets the right one in", async () => {
    const app = await shop();
    const c = app.client();
    const first = await c.get("/instructor");
    assert.equal(first.status, 303);
    assert.equal(first.location, "/instructor/login?next=%2Finstructor");
    const wrong = await signIn(c, "not the password at all");
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /That is not the instructor password/);
    assert.equal(c.cookies.has("shop_instructor"), false);

    const forger = app.client();
    forger.cookies.set("shop_instructor", `${Date.now() + 3600_000}.${"A".repeat(43)}`);
    assert.equal((await forger.get("/instructor")).status, 303, "a made-up pass is refused");

    const ok = await signIn(c);
    assert.equal(ok.status, 303);
    assert.equal(ok.location, "/instructor");
    const page = await c.get("/instructor");
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="technique">sqlite</);
    assert.match(page.text, /Idle timeout<\/dt><dd>30 min/);
  });

  it("lists sessions anonymised, and Expire, Sweep now and Revoke do what they say", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    const a = app.client();
    const b = app.client();
    await addToCart(a, 1, 2);
    await addToCart(b, 2, 1);
    const page = await teacher.get("/instructor");
    for (const shopper of [a, b]) {
      const fp = shopper.sessionKey()!.slice(0, 8);
      assert.match(page.text, new RegExp(`data-fingerprint="${fp}"`));
      assert.doesNotMatch(page.text, new RegExp(shopper.sessionId()!), "never the raw ID");
    }
    assert.match(page.text, /Guest/);

    const expire = await teacher.post(`/instructor/sessions/${a.sessionKey()}/expire`);
    assert.equal(expire.status, 303);
    assert.equal(app.sessionRows().length, 2, "expired, but the row waits for the cleanup job");
    const swept = await teacher.post("/instructor/sweep", { returnTo: "/instructor" });
    assert.equal(swept.status, 303);
    assert.match((await teacher.get("/instructor")).text, /Sweep now: the cleanup job removed 1 expired session\./);
    assert.equal(app.sessionRows().length, 1);
    assert.equal(Client_badge(await a.get("/cart")), 0, "the expired shopper has a fresh, empty session");

    await teacher.get("/instructor");
    await teacher.post(`/instructor/sessions/${b.sessionKey()}/revoke`);
    assert.equal(app.sessionRows().length, 0, "revoked: the row is gone");
    assert.equal(Client_badge(await b.get("/cart")), 0);
  });

  it("shows one row per stored session: fingerprint, Guest or Signed in, and carts sealed but for its own", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    await addToCart(teacher, 5, 2);
    const guest = app.client();
    await addToCart(guest, 1, 2);
    await addToCart(guest, 2, 1);
    const member = app.client();
    await register(member);
    await addToCart(member, 3, 4);
    const page = await teacher.get("/instructor");
    const rowOf = (c: Client) => {
      const m = new RegExp(`<tr[^>]*data-fingerprint="${c.sessionKey()!.slice(0, 8)}">([\\s\\S]*?)</tr>`).exec(page.text);
      assert.ok(m, "a row for this shopper");
      return m[1]!.replace(/\s+/g, " ");
    };
    // Other shoppers' carts are sealed under keys only their cookies give: the dashboard cannot read them.
    assert.match(rowOf(guest), /<td>Guest<\/td> <td class="num"><span title="[^"]*">sealed<\/span><\/td>/);
    assert.match(rowOf(member), /<td>Signed in<\/td> <td class="num"><span title="[^"]*">sealed<\/span><\/td>/);
    assert.match(rowOf(teacher), /<td>Guest<\/td> <td class="num">1 line \(2\) · yours<\/td>/, "the session in this browser opens with its cookie");
    assert.equal(page.text.match(/<tr class="[^"]*" data-fingerprint=/g)?.length, app.sessionRows().length);
    assert.match(page.text, /data-testid="live-count">3</);
  });

  it("Sweep now, after the clock passes the expiry, removes the expired rows and says how many", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    for (const id of [1, 2]) await addToCart(app.client(), id, 1);
    // The demo clock, as in class: 31 real minutes without using the dashboard would end the pass.
    app.classroom.fastForward(31);
    const waiting = await teacher.get("/instructor");
    assert.match(waiting.text, /data-testid="expired-count">2</);
    assert.match(waiting.text, /waiting for cleanup/);
    assert.equal(app.sessionRows().length, 2, "expired rows stay until the cleanup job runs");
    await teacher.post("/instructor/sweep", { returnTo: "/instructor" });
    const page = await teacher.get("/instructor");
    assert.match(page.text, /Sweep now: the cleanup job removed 2 expired sessions\./);
    assert.match(page.text, /No sessions stored\./);
    assert.equal(app.sessionRows().length, 0);
  });

  it("Expire keeps the row until the sweep, but its shopper already gets a fresh session", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    const shopper = app.client();
    await addToCart(shopper, 1, 2);
    const key = shopper.sessionKey()!;
    await teacher.get("/instructor");
    await teacher.post(`/instructor/sessions/${key}/expire`);
    const page = await teacher.get("/instructor");
    assert.match(page.text, new RegExp(`Session ${key.slice(0, 8)} expired now; its record waits for the cleanup job\\.`));
    assert.match(page.text, new RegExp(`<tr class="row-expired" data-fingerprint="${key.slice(0, 8)}">`));
    assert.equal(app.sessionRows().length, 1);
    const cart = await shopper.get("/cart");
    assert.equal(Client_badge(cart), 0, "the old cookie no longer opens the cart");
    assert.equal(shopper.cookies.has("shop_sid"), false, "and it is cleared");
  });

  it("the demo clock banner is on every page, not only the dashboard", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    await teacher.get("/instructor");
    await teacher.post("/instructor/clock", { minutes: "31", returnTo: "/instructor" });
    const visitor = app.client();
    for (const path of ["/", "/cart", "/products/ceramic-teapot", "/login", "/labs", "/instructor"]) {
      const page = await (path === "/instructor" ? teacher : visitor).get(path);
      assert.equal(page.status, 200, path);
      assert.match(page.text, /Demo clock:<\/strong> the server's time is shifted by \+31 min/, path);
    }
    assert.equal(app.classroom.offsetMs, 31 * 60_000);
  });

  it("fast-forwards the demo clock: a banner on every page, idle sessions end; back to real time removes it", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    const shopper = app.client();
    await addToCart(shopper, 3, 1);
    await teacher.get("/instructor");
    await teacher.post("/instructor/clock", { minutes: "31" });
    const home = await shopper.get("/");
    assert.match(home.text, /Demo clock:<\/strong> the server's time is shifted by \+31 min/);
    assert.equal(Client_badge(home), 0, "30 minutes idle: the session ended");
    assert.equal((await teacher.post("/instructor/clock", { minutes: "0" })).status, 400, "a friendly 400 for a bad value");
    await teacher.get("/instructor");
    await teacher.post("/instructor/clock", { action: "real" });
    assert.doesNotMatch((await shopper.get("/")).text, /Demo clock:/);
  });

  it("vulnerable modes: refused unless the server allows them; when on, a red banner on every page", async () => {
    const strict = await shop();
    const t1 = strict.client();
    await signIn(t1);
    await t1.get("/instructor");
    const refused = await t1.post("/instructor/labs", { mode: "fixation", on: "1" });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /CLASSROOM_VULNERABLE_LABS=1/);
    assert.equal(strict.classroom.labModes.fixation, false);

    const lab = await shop({ CLASSROOM_VULNERABLE_LABS: "1" });
    const t2 = lab.client();
    await signIn(t2);
    await t2.get("/instructor");
    assert.equal((await t2.post("/instructor/labs", { mode: "sequentialIds", on: "1" })).status, 303);
    const page = await lab.client().get("/");
    assert.match(page.text, /Deliberately vulnerable lab mode is ON\.<\/strong> Predictable IDs/);
    assert.equal((await t2.post("/instructor/labs", { mode: "__proto__", on: "1" })).status, 400);
  });

  it("the server-sent events stream sends the live table", async () => {
    const app = await shop();
    const teacher = app.client();
    await signIn(teacher);
    const controller = new AbortController();
    const res = await fetch(`${app.url}/instructor/events`, { headers: { cookie: teacher.cookieHeader() }, signal: controller.signal });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const chunk = Buffer.from((await res.body!.getReader().read()).value!).toString();
    assert.match(chunk, /^event: live\ndata: \{"html":/);
    controller.abort();
  });

  it("production refuses the vulnerable labs, and turns the classroom off by default", () => {
    const secrets = "x".repeat(40);
    assert.throws(() => readConfig({ NODE_ENV: "production", SESSION_SECRETS: secrets, CLASSROOM_VULNERABLE_LABS: "1" }, root), ConfigError);
    assert.equal(readConfig({ NODE_ENV: "production", SESSION_SECRETS: secrets }, root).classroom, false);
  });

  it("with CLASSROOM=false there is no X-ray, no labs and no dashboard", async () => {
    const app = await shop({ CLASSROOM: "false" });
    const c = app.client();
    const home = await c.get("/");
    assert.doesNotMatch(home.text, /session X-ray/);
    assert.equal((await c.get("/labs")).status, 404);
    assert.equal((await c.get("/instructor")).status, 404);
    assert.equal((await c.post("/xray", { on: "1" })).status, 404);
  });
});

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
    assert.equal(Client_badge(back), 1, "the instructor's own cart is still there after the thaw");
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
    assert.equal(Client_badge(await shopper.get("/cart")), 1, "the shopper still has the cart");
    await teacher.get("/instructor");
    assert.equal((await teacher.post(`/instructor/sessions/${key}/revoke`)).status, 303, "Revoke works once Redis is back");
    assert.doesNotMatch((await teacher.get("/instructor")).text, new RegExp(`data-fingerprint="${key.slice(0, 8)}"`));
    assert.equal(Client_badge(await shopper.get("/cart")), 0, "the revoked shopper's cookie is dead");
  });
});

function Client_badge(res: { text: string }) {
  const m = /aria-label="Cart, (\d+) items?"/.exec(res.text);
  return Number(m![1]);
}
