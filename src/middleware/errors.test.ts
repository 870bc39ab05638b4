/**
 * The 409 "Your session ended" answer (errors.ts), through real HTTP: a request that loaded its
 * session, whose session then ended while the request was still on its way (the instructor
 * revoked it, the shopper signed out "everywhere else" from another device), gets the friendly
 * 409 page (JSON for JSON clients), never a 5xx, and nothing it asked for is half-done: no cart
 * line, no order, no stock moved, no record brought back.
 *
 * The interleaving is made deterministic with a real slow request: its headers (and so its
 * cookie) arrive, the server loads the session and waits for the body; the session is ended by
 * another request; then the body is sent. "Loaded" is seen in the store: the test moves the
 * clock past the touch interval first, so loading the session writes its last-seen time.
 *
 * Server-side techniques only: with the cookie technique there is no record that another request
 * could end, so a request cannot see its session end meanwhile.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, register, slowPost, startTestApp, untilSessionLoaded } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";

const PASSWORD = "a long classroom password";
const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };

for (const technique of ["sqlite", "memory", "redis"] as const) {
  describe(`a session that ends while a request is on its way gets the 409 page (${technique} technique)`, () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
    let app: Awaited<ReturnType<typeof startTestApp>>;
    before(async () => {
      const env: Record<string, string> = { SESSION_STORE: technique, INSTRUCTOR_PASSWORD: PASSWORD };
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

    const count = (table: string) => (app.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const stock = (id: number) => (app.db.prepare("SELECT stock FROM products WHERE id = ?").get(id) as { stock: number }).stock;

    /** Move past the touch interval, so that loading `c`'s session writes its last-seen time. */
    function armTouch() {
      app.clock.advance(app.config.touchIntervalMs);
    }
    const loaded = (key: string) => untilSessionLoaded(app, key);
    async function teacher() {
      const t = app.client();
      await t.get("/instructor/login");
      const ok = await t.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
      assert.equal(ok.status, 303);
      await t.get("/instructor");
      return t;
    }

    it("an add to cart whose session the instructor revoked meanwhile: the 409 page, and nothing added or brought back", async () => {
      const c = app.client();
      await addToCart(c, 1, 1);
      await c.get("/cart");
      const key = c.sessionKey()!;
      const t = await teacher();
      armTouch();
      const add = slowPost(c, "/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" });
      await loaded(key);
      assert.equal((await t.post(`/instructor/sessions/${key}/revoke`)).status, 303);
      const res = await add.finish();
      assert.equal(res.status, 409, `a 409, not ${res.status}: ${res.text.slice(0, 300)}`);
      assert.match(res.type, /^text\/html/);
      assert.match(res.text, /<h1>Your session ended<\/h1>/);
      assert.match(res.text, /did you sign out in another tab\?\)\. Nothing was changed\./);
      assert.match(res.text, /Back to the shop/);
      assert.ok(
        res.setCookie.some((l) => /^shop_sid=;/.test(l)),
        "the dead cookie is cleared",
      );
      assert.equal(await app.store.peek(key), null, "the revoked record did not come back");
      const fresh = app.client();
      for (const [k, v] of c.cookies) fresh.cookies.set(k, v);
      assert.equal((await cartOf(fresh)).size, 0, "the old cookie opens an empty cart: product 2 was not added anywhere");
    });

    it("the same for a JSON client: a 409 with a JSON body", async () => {
      const c = app.client();
      await addToCart(c, 1, 1);
      await c.get("/cart");
      const key = c.sessionKey()!;
      const t = await teacher();
      armTouch();
      const add = slowPost(c, "/cart/items", { productId: "2", quantity: "1" }, { accept: "application/json" });
      await loaded(key);
      await t.post(`/instructor/sessions/${key}/revoke`);
      const res = await add.finish();
      assert.equal(res.status, 409);
      assert.match(res.type, /^application\/json/);
      const body = JSON.parse(res.text) as { error: { status: number; title: string; message: string } };
      assert.equal(body.error.status, 409);
      assert.equal(body.error.title, "Your session ended");
      assert.match(body.error.message, /Nothing was changed\./);
      assert.equal(await app.store.peek(key), null);
    });

    it("a checkout whose session was signed out from another device meanwhile: the 409 page, no order, no stock moved", async () => {
      const laptop = app.client();
      await addToCart(laptop, 3, 2);
      const account = await register(laptop);
      const phone = app.client();
      await phone.get("/login");
      assert.equal((await phone.post("/login", account)).status, 303);
      await laptop.get("/checkout");
      const key = laptop.sessionKey()!;
      const [orders, lines, before] = [count("orders"), count("order_lines"), stock(3)];
      armTouch();
      const placing = slowPost(laptop, "/checkout", { ...payment, checkoutToken: laptop.checkoutToken });
      await loaded(key);
      await phone.get("/account/sessions");
      const ended = await phone.post("/account/sessions/end", { action: "all", password: account.password });
      assert.equal(ended.status, 303, "the phone signed out every other session");
      const res = await placing.finish();
      assert.equal(res.status, 409, `a 409, not ${res.status}: ${res.text.slice(0, 300)}`);
      assert.match(res.text, /<h1>Your session ended<\/h1>/);
      assert.match(res.text, /Nothing was changed\./);
      assert.equal(count("orders"), orders, "no order was placed");
      assert.equal(count("order_lines"), lines);
      assert.equal(stock(3), before, "no stock moved");
      assert.equal(await app.store.peek(key), null, "the ended session did not come back");
    });

    it("a checkout form submitted after its session was revoked places nothing and says why (the 409 page)", async () => {
      const c = app.client();
      await addToCart(c, 4, 1);
      await register(c);
      await c.get("/checkout");
      const t = await teacher();
      await t.post(`/instructor/sessions/${c.sessionKey()}/revoke`);
      const before = count("orders");
      const res = await c.post("/checkout", { ...payment, checkoutToken: c.checkoutToken });
      // Not quietly redirected to a sign-in page: the shopper reads why (src/accounts/notices.ts).
      assert.equal(res.status, 409);
      assert.match(res.text, /<h1>Your session ended<\/h1>/);
      assert.match(res.text, /Your session was ended by the instructor\. Your cart was saved to your account — sign in to get it back\. Nothing was changed\./);
      assert.equal(count("orders"), before, "no order was placed");
    });
  });
}
