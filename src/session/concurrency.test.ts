/**
 * Concurrency: the reason the storage has change() instead of "load the blob, write it back".
 * Requests of one visitor run at the same time (two tabs, a double click); none may lose
 * another's cart change, and none may bring a logged-out session back.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Request, Response } from "express";
import { sign } from "cookie-signature";
import { addToCart, cartOf, Client, register, SECRET_A, startTestApp } from "../test/harness.ts";
import { SessionEndedError } from "./errors.ts";
import { createSessionStorage } from "./storage.ts";

type App = Awaited<ReturnType<typeof startTestApp>>;
let app: App;
beforeEach(async () => {
  app = await startTestApp();
});
afterEach(() => app.close());

// Products with plenty of stock (6, 11 and 14 are the low/zero-stock ones).
const roomy = Array.from({ length: 30 }, (_, i) => i + 1).filter((id) => ![6, 11, 14].includes(id));

describe("concurrent cart changes of one visitor", () => {
  it("27 simultaneous adds of different products all land", async () => {
    const c = app.client();
    await addToCart(c, roomy[0]!, 1); // the session exists before the burst
    await c.get("/");
    const results = await Promise.all(roomy.slice(1).map((id) => addToCart(c, id, 2)));
    assert.ok(results.every((r) => r.status === 303));
    const cart = await cartOf(c);
    assert.equal(cart.size, roomy.length);
    for (const id of roomy.slice(1)) assert.equal(cart.get(id), 2, `product ${id}`);
  });

  it("10 simultaneous +1s of the same product make 10, and an 11th is refused", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/");
    await Promise.all(Array.from({ length: 9 }, () => addToCart(c, 1, 1)));
    assert.equal((await cartOf(c)).get(1), 10);
    await addToCart(c, 1, 1);
    assert.equal((await cartOf(c)).get(1), 10, "the limit holds against the freshest cart");
  });

  it("changes and removals running together with adds lose nothing", async () => {
    const c = app.client();
    for (const id of [1, 2, 3]) await addToCart(c, id, 1);
    await c.get("/cart");
    await Promise.all([
      c.post("/cart/items/1", { quantity: "4" }),
      c.post("/cart/items/2/delete"),
      addToCart(c, 4, 3),
      addToCart(c, 5, 2),
      c.post("/cart/items/3", { quantity: "7" }),
    ]);
    assert.deepEqual(
      [...(await cartOf(c))].sort((a, b) => a[0] - b[0]),
      [
        [1, 4],
        [3, 7],
        [4, 3],
        [5, 2],
      ],
    );
  });
});

describe("logout racing other requests", () => {
  it("after a logout is acknowledged, the old session stays dead whatever else was in flight", async () => {
    const c = app.client();
    await register(c);
    await addToCart(c, 1, 1);
    await c.get("/");
    const oldKey = c.sessionKey()!;
    const cookie = c.cookies.get("shop_sid")!;
    const token = c.csrf;
    // Fire adds on the old cookie around a logout; they may land before it (acknowledged, then
    // destroyed with the session) or after it (refused, or a brand-new guest session) — but
    // never under the old key.
    const fire = (form: Record<string, string>, path: string) => {
      const x = new Client(app.url);
      x.cookies.set("shop_sid", cookie);
      x.csrf = token;
      return x.post(path, form);
    };
    const replies = await Promise.all([
      ...roomy.slice(0, 10).map((id) => fire({ productId: String(id), quantity: "1" }, "/cart/items")),
      fire({}, "/logout"),
      ...roomy.slice(10, 20).map((id) => fire({ productId: String(id), quantity: "1" }, "/cart/items")),
    ]);
    assert.ok(
      replies.every((r) => r.status < 500),
      replies.map((r) => r.status).join(","),
    );
    const rowsWithOldKey = app.db.prepare("SELECT count(*) AS n FROM sessions WHERE id_hash = ?").get(oldKey) as { n: number };
    assert.equal(rowsWithOldKey.n, 0);
    const replay = new Client(app.url);
    replay.cookies.set("shop_sid", cookie);
    const page = await replay.get("/cart");
    assert.equal(Client.badge(page.text), 0);
    assert.doesNotMatch(page.text, /Signed in as/);
  });

  it("a write that loaded the session before the logout is refused, not written back", async () => {
    // Deterministic interleaving at the storage level: request A loads, request B logs out, A writes.
    const storage = createSessionStorage({
      store: app.store,
      clock: app.clock,
      cookieName: "shop_sid",
      cookieSecure: false,
      sessionSecrets: [SECRET_A],
      idleTimeoutMs: 60_000,
      absoluteTimeoutMs: 600_000,
      touchIntervalMs: 6_000,
    });
    const cookies: string[] = [];
    const res = {
      cookie: (name: string, value: string) => cookies.push(`${name}=${value}`),
      clearCookie: (name: string) => cookies.push(`${name}=`),
    } as unknown as Response;
    // As cookie-parser leaves a request: the jars, and the header they came from.
    const fresh = await storage.load({ headers: {}, cookies: {}, signedCookies: {} } as unknown as Request, res);
    await storage.change(fresh, res, (d) => ({ ...d, cart: [{ productId: 1, quantity: 1 }] }));
    const header = `shop_sid=${encodeURIComponent(`s:${sign(fresh.id!, SECRET_A)}`)}`;
    const req = { headers: { cookie: header }, cookies: {}, signedCookies: { shop_sid: fresh.id } } as unknown as Request;
    const a = await storage.load(req, res); // request A has the session in hand
    const b = await storage.load(req, res); // request B: logout
    await storage.destroy(b, res);
    await assert.rejects(
      storage.change(a, res, (d) => ({ ...d, cart: [...d.cart, { productId: 2, quantity: 1 }] })),
      SessionEndedError,
    );
    assert.equal(app.sessionRows().length, 0, "no row came back");
    assert.equal((await storage.load(req, res)).key, null);
  });

  it("a stale cookie whose row is gone gets a new guest session, never the old ID", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const stale = c.cookies.get("shop_sid")!;
    await c.post("/cart/empty"); // still alive: a normal change
    // Delete the row behind the cookie's back (as a logout in another tab would) and hold a fresh page.
    app.db.prepare("DELETE FROM sessions").run();
    const x = new Client(app.url);
    x.cookies.set("shop_sid", stale);
    x.csrf = c.csrf;
    // The form from the ended session is refused with the reason (nothing changed, cookie cleared)…
    const refused = await x.post("/cart/items", { productId: "2", quantity: "1" });
    assert.equal(refused.status, 409);
    assert.match(refused.text, /Your session has ended and its cart is gone/);
    assert.notEqual(x.cookies.get("shop_sid"), stale);
    // …and the shopper's next add starts a new guest session, under a new ID.
    await x.get("/cart");
    const res = await x.post("/cart/items", { productId: "2", quantity: "1" });
    assert.equal(res.status, 303);
    assert.ok(x.cookies.get("shop_sid"), "a new session cookie");
    assert.notEqual(x.cookies.get("shop_sid"), stale);
    assert.equal((app.db.prepare("SELECT count(*) AS n FROM sessions WHERE id_hash = ?").get(c.sessionKey()!) as { n: number }).n, 0);
  });
});

describe("login racing cart writes", () => {
  it("no acknowledged add disappears when a login happens in the middle", async () => {
    const c = app.client();
    const { email, password } = await register(c);
    await c.post("/logout");
    await addToCart(c, 1, 1);
    await c.get("/login");
    const cookie = c.cookies.get("shop_sid")!;
    const token = c.csrf;
    const fire = (path: string, form: Record<string, string>) => {
      const x = new Client(app.url);
      x.cookies.set("shop_sid", cookie);
      x.csrf = token;
      return x.post(path, form).then((r) => ({ r, x }));
    };
    const adds = roomy.slice(1, 12).map((id) => fire("/cart/items", { productId: String(id), quantity: "1" }).then((o) => ({ id, ...o })));
    const login = fire("/login", { email, password });
    const [results, loggedIn] = await Promise.all([Promise.all(adds), login]);
    assert.equal(loggedIn.r.status, 303);
    // Acknowledged under the old ID = saved there: the reply re-sends the very same cookie value.
    const acknowledged = results.filter(({ r, x }) => r.status === 303 && x.cookies.get("shop_sid") === cookie);
    assert.ok(acknowledged.length > 0, "some adds were acknowledged on the guest session");
    const cart = await cartOf(loggedIn.x);
    for (const { id } of acknowledged) assert.equal(cart.get(id), 1, `acknowledged add of product ${id} survived the login`);
    assert.equal(cart.get(1), 1);
  });
});
