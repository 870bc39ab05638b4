/**
 * The instructor's pass across a secret rotation, through real HTTP: SESSION_SECRETS lists the
 * new secret first and keeps the old one, so passes signed before the rotation still open the
 * dashboard, and new passes are signed with the new secret only.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SECRET_A, SECRET_B, startTestApp } from "../test/harness.ts";

const PASSWORD = "a long classroom password";
const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
async function shop(secrets: string) {
  const app = await startTestApp({ INSTRUCTOR_PASSWORD: PASSWORD, SESSION_SECRETS: secrets });
  apps.push(app);
  return app;
}

async function passFrom(app: Awaited<ReturnType<typeof shop>>) {
  const c = app.client();
  await c.get("/instructor/login");
  const res = await c.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
  assert.equal(res.status, 303);
  const pass = c.cookies.get("shop_instructor");
  assert.ok(pass, "signing in gives the instructor a pass");
  return pass;
}

async function dashboardWith(app: Awaited<ReturnType<typeof shop>>, pass: string) {
  const c = app.client();
  c.cookies.set("shop_instructor", pass);
  return c.get("/instructor");
}

describe("instructor pass and SESSION_SECRETS rotation", () => {
  it("keeps an instructor signed in after the secrets rotate (new first, old still listed), and signs new passes with the new secret", async () => {
    const before = await shop(SECRET_A);
    const oldPass = await passFrom(before);

    const rotated = await shop(`${SECRET_B},${SECRET_A}`);
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
    const before = await shop(SECRET_A);
    const oldPass = await passFrom(before);
    const dropped = await shop(SECRET_B);
    assert.equal((await dashboardWith(dropped, oldPass)).status, 303, "a pass signed with a retired secret no longer opens the dashboard");
  });
});
