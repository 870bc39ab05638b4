/** Brute-force protection on sign-in: failures are limited per account and per client. */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { register, startTestApp } from "../test/harness.ts";

let app: Awaited<ReturnType<typeof startTestApp>>;
beforeEach(async () => {
  app = await startTestApp();
});
afterEach(() => app.close());

describe("sign-in rate limits", () => {
  it("after 10 failed attempts on one account, even the right password waits (429)", async () => {
    const owner = app.client();
    const { email, password } = await register(owner);
    const attacker = app.client();
    await attacker.get("/login");
    const failures = await Promise.all(Array.from({ length: 10 }, () => attacker.post("/login", { email, password: "wrong guess 123" })));
    assert.ok(
      failures.every((r) => r.status === 401),
      failures.map((r) => r.status).join(),
    );
    const blocked = await attacker.post("/login", { email, password });
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many failed sign-in attempts for this account/);
    assert.ok(blocked.headers.get("ratelimit-policy") || blocked.headers.get("retry-after"), "says when to come back");
    const other = app.client();
    const { email: email2, password: password2 } = await register(other);
    await other.post("/logout");
    await other.get("/login");
    assert.equal((await other.post("/login", { email: email2, password: password2 })).status, 303, "other accounts are unaffected");
  });

  it("after 30 failed attempts from one client, that client waits, whatever the account", async () => {
    const c = app.client();
    await c.get("/login");
    // Malformed emails fail without hashing, so this is quick; they still count.
    for (let i = 0; i < 30; i++) assert.equal((await c.post("/login", { email: `not-an-email-${i}`, password: "x" })).status, 401);
    const res = await c.post("/login", { email: "someone@example.com", password: "whatever123" });
    assert.equal(res.status, 429);
    assert.match(res.text, /from your network/);
  });

  it("successful sign-ins do not count", async () => {
    const c = app.client();
    const { email, password } = await register(c);
    for (let i = 0; i < 11; i++) {
      await c.post("/logout");
      await c.get("/login");
      assert.equal((await c.post("/login", { email, password })).status, 303, `sign-in #${i + 1}`);
    }
  });
});
