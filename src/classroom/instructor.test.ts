/**
 * The instructor dashboard and the classroom switches, through real HTTP: who gets in, what the
 * buttons do to the store, the demo clock, and the vulnerable modes' guard rails. The dashboard
 * while Redis is out: instructor-redis-out.test.ts (it starts a redis-server; this file runs in
 * `npm run test:fast`).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, readConfig } from "../config.ts";
import { addToCart, register, root, startTestApp, type Client } from "../test/harness.ts";

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
    assert.equal(cartBadge(await a.get("/cart")), 0, "the expired shopper has a fresh, empty session");

    await teacher.get("/instructor");
    await teacher.post(`/instructor/sessions/${b.sessionKey()}/revoke`);
    assert.equal(app.sessionRows().length, 0, "revoked: the row is gone");
    assert.equal(cartBadge(await b.get("/cart")), 0);
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
    assert.equal(cartBadge(cart), 0, "the old cookie no longer opens the cart");
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
    assert.equal(cartBadge(home), 0, "30 minutes idle: the session ended");
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

/** The number on the header's cart badge. */
function cartBadge(res: { text: string }) {
  const m = /aria-label="Cart, (\d+) items?"/.exec(res.text);
  return Number(m![1]);
}
