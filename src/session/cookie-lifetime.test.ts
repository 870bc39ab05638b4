/**
 * When the session cookie is sent, and how long it lives (docs/security.md, "The session cookie's
 * lifetime"): Expires is the absolute end plus NOTICE_GRACE_MS, fixed for the ID; sent at creation,
 * login and touch, not on every write (the cart write's Set-Cookie was 26–31 µs, issue 16); the
 * idle timeout is the server's to enforce.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, Client, startTestApp } from "../test/harness.ts";
import { NOTICE_GRACE_MS } from "./cookie.ts";

const MINUTE = 60_000;
let app: Awaited<ReturnType<typeof startTestApp>>;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const sessionCookies = (setCookies: string[]) => setCookies.filter((s) => s.startsWith("shop_sid="));
const expiresOf = (line: string) => Date.parse(/Expires=([^;]+)/.exec(line)![1]!);

describe("the session cookie's lifetime", () => {
  it("is sent at creation with the absolute end (and the notice grace) as Expires, and not again on later writes", async () => {
    const c = app.client();
    const created = sessionCookies((await addToCart(c, 1, 1)).setCookies);
    assert.equal(created.length, 1);
    const [row] = app.sessionRows();
    assert.equal(expiresOf(created[0]!), Math.floor((row!.created_at + app.config.absoluteTimeoutMs + NOTICE_GRACE_MS) / 1000) * 1000, "the absolute end");
    await c.get("/cart"); // the next page (a fresh CSRF token)
    const second = await addToCart(c, 2, 1);
    assert.equal(second.status, 303);
    assert.deepEqual(sessionCookies(second.setCookies), [], "a write sends no Set-Cookie");
    assert.equal(Client.badge((await c.get("/cart")).text), 2, "and the write landed");
  });

  it("a touch sends the same Expires again; the idle timeout is still enforced by the server", async () => {
    const c = app.client();
    const created = sessionCookies((await addToCart(c, 1, 1)).setCookies);
    app.clock.advance(app.config.touchIntervalMs + 1);
    const touched = sessionCookies((await c.get("/cart")).setCookies);
    assert.equal(touched.length, 1, "the touch re-sends the cookie");
    assert.equal(expiresOf(touched[0]!), expiresOf(created[0]!), "with the same, absolute, Expires");
    app.clock.advance(app.config.idleTimeoutMs + MINUTE);
    const res = await c.get("/cart"); // the browser still holds the cookie: the server refuses it
    assert.equal(Client.badge(res.text), 0, "idle for longer than the timeout: a fresh empty session");
    assert.ok(
      res.setCookies.some((s) => s.startsWith("shop_sid=;")),
      "and the dead cookie is cleared",
    );
  });
});
