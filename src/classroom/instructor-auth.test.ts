/**
 * The instructor's pass across a secret rotation, through real HTTP: SESSION_SECRETS lists the
 * new secret first and keeps the old one, so passes signed before the rotation still open the
 * dashboard, and new passes are signed with the new secret only.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DATA_STORES, SECRET_A, SECRET_B, addToCart, postgresForData, startTestApp, tempDir } from "../test/harness.ts";

const PASSWORD = "a long classroom password";
const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
const postgres = postgresForData();
type App = Awaited<ReturnType<typeof startTestApp>>;

async function passFrom(app: App) {
  const c = app.client();
  await c.get("/instructor/login");
  const res = await c.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
  assert.equal(res.status, 303);
  const pass = c.cookies.get("shop_instructor");
  assert.ok(pass, "signing in gives the instructor a pass");
  return pass;
}

async function dashboardWith(app: App, pass: string) {
  const c = app.client();
  c.cookies.set("shop_instructor", pass);
  return c.get("/instructor");
}

// Every test twice: the passes (instructor_passes) in SQLite and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES) {
  /** The database of each `dir`: shops given the same `dir` share one database (a restart with other settings). */
  const databases = new Map<string, Record<string, string>>();
  /** A shop; shops given the same `dir` share one database (a restart with other settings). */
  const shop = async (secrets: string, dir = tempDir()) => {
    if (!databases.has(dir)) databases.set(dir, await postgres.env(data));
    const app = await startTestApp({ INSTRUCTOR_PASSWORD: PASSWORD, SESSION_SECRETS: secrets, ...databases.get(dir) }, { dir });
    apps.push(app);
    return app;
  };

  describe(`instructor pass and SESSION_SECRETS rotation (data on ${data})`, () => {
    it("keeps an instructor signed in after the secrets rotate (new first, old still listed), and signs new passes with the new secret", async () => {
      const dir = tempDir();
      const before = await shop(SECRET_A, dir);
      const oldPass = await passFrom(before);

      const rotated = await shop(`${SECRET_B},${SECRET_A}`, dir);
      const page = await dashboardWith(rotated, oldPass);
      assert.equal(page.status, 200, "the pass signed before the rotation still opens the dashboard");
      assert.match(page.text, /Instructor dashboard/);

      const newPass = await passFrom(rotated);
      assert.equal((await dashboardWith(rotated, newPass)).status, 200);
      const onlyOld = await dashboardWith(before, newPass);
      assert.equal(onlyOld.status, 303, "a new pass is signed with the new secret: a shop that knows only the old one refuses it");
      assert.equal(onlyOld.location, "/instructor/login?next=%2Finstructor");
    });

    it("signs the instructor out once the old secret is dropped from the list", async () => {
      const dir = tempDir();
      const before = await shop(SECRET_A, dir);
      const oldPass = await passFrom(before);
      const dropped = await shop(SECRET_B, dir);
      assert.equal((await dashboardWith(dropped, oldPass)).status, 303, "a pass signed with a retired secret no longer opens the dashboard");
    });
  });

  describe(`leaving the dashboard and leaving it alone (data on ${data})`, () => {
    it("leaving the dashboard ends the pass on the server: a copy of the cookie no longer opens it", async () => {
      const app = await shop(SECRET_A);
      const pass = await passFrom(app);
      const instructor = app.client();
      instructor.cookies.set("shop_instructor", pass);
      await instructor.get("/instructor");
      assert.equal((await instructor.post("/instructor/logout")).status, 303);
      assert.equal(instructor.cookies.has("shop_instructor"), false, "the browser forgets it");
      const copy = await dashboardWith(app, pass);
      assert.equal(copy.status, 303, "a copy kept from before is dead");
      assert.equal(copy.location, "/instructor/login?next=%2Finstructor");
    });

    it("a pass ends after 30 minutes unused, and after 8 hours however busy, by the real clock", async () => {
      const app = await shop(SECRET_A);
      const idle = await passFrom(app);
      app.clock.advance(29 * 60_000);
      assert.equal((await dashboardWith(app, idle)).status, 200, "29 minutes: still open (and that visit counts as use)");
      app.clock.advance(29 * 60_000);
      assert.equal((await dashboardWith(app, idle)).status, 200, "used 29 minutes ago: still open");
      app.clock.advance(31 * 60_000);
      assert.equal((await dashboardWith(app, idle)).status, 303, "31 minutes unused: ended");

      const busy = await passFrom(app);
      for (let minutes = 0; minutes < 8 * 60 - 20; minutes += 20) {
        app.clock.advance(20 * 60_000);
        assert.equal((await dashboardWith(app, busy)).status, 200);
      }
      app.clock.advance(20 * 60_000);
      assert.equal((await dashboardWith(app, busy)).status, 303, "8 hours after sign-in, even in use: ended");
    });
  });

  describe(`the instructor pass's own CSRF token (data on ${data})`, () => {
    it("is required on every instructor action, with or without a shop session, and is tied to the pass", async () => {
      const app = await shop(SECRET_A);
      const teacher = app.client();
      await teacher.get("/instructor/login");
      await teacher.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
      const page = await teacher.get("/instructor");
      assert.equal(page.status, 200);
      assert.equal(teacher.cookies.has("shop_sid"), false, "the instructor has no shop session");
      assert.match(page.text, /name="_instructor" value="[\w-]{86}"/, "every instructor form carries the pass's token");
      const token = teacher.instructorCsrf;
      // Same-origin headers, pass cookie present: only the token is missing or wrong.
      const sameSite = { origin: app.url, "sec-fetch-site": "same-origin" };
      for (const form of [{ _instructor: "" }, { _instructor: "A".repeat(86) }]) {
        const refused = await teacher.request("POST", "/instructor/clock", { form: { ...form, minutes: "5" }, headers: sameSite });
        assert.equal(refused.status, 403, `refused with _instructor=${form._instructor.slice(0, 4)}…`);
      }
      assert.doesNotMatch((await teacher.get("/")).text, /Demo clock:/, "nothing moved");

      // Another instructor's token does not fit this pass.
      const other = app.client();
      await other.get("/instructor/login");
      await other.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
      await other.get("/instructor");
      assert.notEqual(other.instructorCsrf, token);
      const crossed = await teacher.request("POST", "/instructor/clock", { form: { _instructor: other.instructorCsrf, minutes: "5" }, headers: sameSite });
      assert.equal(crossed.status, 403);

      const ok = await teacher.request("POST", "/instructor/clock", { form: { _instructor: token, minutes: "5" }, headers: sameSite });
      assert.equal(ok.status, 303);
      assert.match((await teacher.get("/")).text, /Demo clock:/);

      // With a shop session too, the shop's token alone is not enough.
      await teacher.get("/products/wool-beanie");
      await addToCart(teacher, 1);
      assert.ok(teacher.cookies.has("shop_sid"));
      await teacher.get("/instructor");
      const shopTokenOnly = await teacher.request("POST", "/instructor/sweep", { form: { _csrf: teacher.csrf }, headers: sameSite });
      assert.equal(shopTokenOnly.status, 403);
      assert.equal((await teacher.post("/instructor/sweep", {}, sameSite)).status, 303);
    });
  });
}
