import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "../test/harness.ts";
import { addToCart, cartOf, checkout, DATA_STORES, postgresForData, register, startTestApp } from "../test/harness.ts";

const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };
const postgres = postgresForData();

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES)
  describe(`data on ${data}`, () => {
    let app: Awaited<ReturnType<typeof startTestApp>>;
    beforeEach(async () => {
      app = await startTestApp(await postgres.env(data));
    });
    afterEach(() => app.close());

    const stock = async (id: number) => (await app.sql.get<{ stock: number }>("SELECT stock FROM products WHERE id = ?", [id]))!.stock;
    const count = async (table: string) => (await app.sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n;

    describe("checkout", () => {
      it("needs a signed-in shopper, and comes back to checkout after signing in", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        const res = await c.get("/checkout");
        assert.equal(res.status, 303);
        assert.equal(res.location, "/login?next=%2Fcheckout");
        const login = await c.get(res.location!);
        assert.match(login.text, /name="next" value="\/checkout"/);
      });

      it("places the order, lowers stock, empties the cart, and shows the confirmation and history", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        await addToCart(c, 3, 1);
        await register(c);
        const [s1, s3] = [await stock(1), await stock(3)];
        const res = await checkout(c, payment);
        assert.equal(res.status, 303);
        const orderPath = res.location!;
        assert.match(orderPath, /^\/orders\/\d+$/);
        assert.equal(await stock(1), s1 - 2);
        assert.equal(await stock(3), s3 - 1);
        assert.equal((await cartOf(c)).size, 0);
        const confirmation = await c.get(orderPath);
        assert.match(confirmation.text, /Order #\d+ is confirmed/);
        assert.match(confirmation.text, /ending in 4242/);
        assert.match(confirmation.text, /Ada Lovelace/);
        assert.doesNotMatch(confirmation.text, /4242 4242 4242 4242/, "the full card number is never kept");
        const history = await c.get("/orders");
        assert.ok(history.text.includes(`href="${orderPath}"`));
        const row = (await app.sql.get<{ card_last4: string; total_cents: number }>("SELECT card_last4, total_cents FROM orders"))!;
        assert.equal(row.card_last4, "4242");
      });

      it("when stock ran out meanwhile, names the line and charges nothing", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        await addToCart(c, 6, 3); // the grinder: all 3 in stock
        await register(c);
        await app.sql.run("UPDATE products SET stock = 1 WHERE id = 6"); // someone else bought two
        const before = await stock(1);
        const res = await checkout(c, payment);
        assert.equal(res.status, 409);
        assert.match(res.text, /nothing was charged/);
        assert.match(res.text, /Hand Coffee Grinder: you asked for 3, only 1 are left/i);
        assert.equal(await count("orders"), 0);
        assert.equal(await count("order_lines"), 0);
        assert.equal(await stock(1), before, "no stock moved for the line that was available either");
        assert.deepEqual(
          [...(await cartOf(c))],
          [
            [1, 1],
            [6, 3],
          ],
          "the cart is as it was",
        );
      });

      it("two shoppers racing for the last items: exactly one gets them", async () => {
        await app.sql.run("UPDATE products SET stock = 2 WHERE id = 2");
        const shoppers = [app.client(), app.client()];
        for (const s of shoppers) {
          await addToCart(s, 2, 2);
          await register(s);
          await s.get("/checkout");
        }
        const results = await Promise.all(shoppers.map((s) => s.post("/checkout", { ...payment, checkoutToken: s.checkoutToken })));
        assert.deepEqual(results.map((r) => r.status).sort(), [303, 409]);
        assert.equal(await stock(2), 0);
        assert.equal(await count("orders"), 1);
      });

      it("refuses invalid payment details with messages, keeping what was typed (but not the card)", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        await register(c);
        const res = await checkout(c, { name: "<b>Bob</b>", address: "", card: "4242 4242 4242 4241", expiry: "01/20", cvc: "12" });
        assert.equal(res.status, 400);
        assert.match(res.text, /Enter your address/);
        assert.match(res.text, /card number is not valid/);
        assert.match(res.text, /card has expired/);
        assert.match(res.text, /security code/);
        assert.match(res.text, /value="&lt;b&gt;Bob&lt;\/b&gt;"/);
        assert.equal(await count("orders"), 0);
        assert.equal((await cartOf(c)).size, 1);
      });

      it("an empty cart cannot be checked out", async () => {
        const c = app.client();
        await register(c);
        const res = await c.get("/checkout");
        assert.equal(res.status, 303);
        assert.equal(res.location, "/cart");
        await c.get("/cart");
        assert.equal((await c.post("/checkout", { ...payment, checkoutToken: "AAAAAAAAAAAAAAAAAAAAAA" })).status, 303);
        assert.equal(await count("orders"), 0);
      });

      it("one shopper cannot see another's order", async () => {
        const a = app.client();
        await addToCart(a, 1, 1);
        await register(a);
        const placed = await checkout(a, payment);
        const b = app.client();
        await register(b);
        assert.equal((await b.get(placed.location!)).status, 404);
        assert.equal((await b.get("/orders/abc")).status, 404);
        assert.doesNotMatch((await b.get("/orders")).text, /Order #/);
      });
    });

    describe("checkout is idempotent: one checkout form, one order", () => {
      const place = (c: Client, checkoutToken = c.checkoutToken) => c.post("/checkout", { ...payment, checkoutToken });
      const orderIdOf = (location: string | null) => Number(/^\/orders\/(\d+)$/.exec(location ?? "")?.[1]);

      it("the checkout form carries a fresh random token", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        await register(c);
        await c.get("/checkout");
        const first = c.checkoutToken;
        await c.get("/checkout");
        assert.match(first, /^[A-Za-z0-9_-]{22}$/);
        assert.notEqual(c.checkoutToken, first, "each form gets its own token");
      });

      it("submitting the same form twice places one order; the second answer shows that order", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        await register(c);
        const before = await stock(1);
        await c.get("/checkout");
        const first = await place(c);
        assert.equal(first.status, 303);
        const again = await place(c);
        assert.equal(again.status, 303, "a retry is not refused");
        assert.equal(again.location, first.location, "the retry lands on the order already placed");
        assert.equal(await count("orders"), 1);
        assert.equal(await stock(1), before - 2, "stock moved once");
        const page = await c.get(again.location!);
        assert.match(page.text, /already placed/);
        assert.match(page.text, /not charged twice/);
        assert.match(page.text, new RegExp(`Order #${orderIdOf(first.location)} is confirmed`));
      });

      it("two concurrent submissions of the same form: exactly one order, stock lowered once", async () => {
        const c = app.client();
        await addToCart(c, 2, 3);
        await register(c);
        const before = await stock(2);
        await c.get("/checkout");
        const replies = await Promise.all([place(c), place(c)]);
        assert.deepEqual(
          replies.map((r) => r.status),
          [303, 303],
        );
        assert.equal(replies[0]!.location, replies[1]!.location, "both answers show the same order");
        assert.match(replies[0]!.location!, /^\/orders\/\d+$/);
        assert.equal(await count("orders"), 1);
        assert.equal(await stock(2), before - 3);
        assert.equal((await cartOf(c)).size, 0);
      });

      it("a retry after the shopper added something since: the same order, and the new item stays in the cart", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        await register(c);
        await c.get("/checkout");
        const token = c.checkoutToken;
        const first = await place(c);
        await addToCart(c, 3, 1);
        const again = await place(c, token); // e.g. the back button, then "Place order" on the old form
        assert.equal(again.location, first.location);
        assert.equal(await count("orders"), 1);
        assert.deepEqual([...(await cartOf(c))], [[3, 1]], "the item added later is not swallowed");
      });

      it("tokens belong to one shopper: another shopper's token places their own order", async () => {
        const a = app.client();
        const b = app.client();
        for (const s of [a, b]) {
          await addToCart(s, 1, 1);
          await register(s);
        }
        await a.get("/checkout");
        const ofA = await place(a);
        await b.get("/cart");
        const ofB = await place(b, a.checkoutToken);
        assert.equal(ofB.status, 303);
        assert.notEqual(ofB.location, ofA.location);
        assert.equal(await count("orders"), 2);
      });

      it("a missing or malformed token: a friendly 400 asking to press Place order again; cart unchanged, no order", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        await register(c);
        const before = await stock(1);
        for (const token of [undefined, "", "garbage", "!".repeat(22), "A".repeat(23), "A".repeat(500)]) {
          await c.get("/checkout");
          c.checkoutToken = "";
          const form: Record<string, string> = { ...payment };
          if (token !== undefined) form.checkoutToken = token;
          const res = await c.post("/checkout", form);
          assert.equal(res.status, 400, `token ${JSON.stringify(token)}`);
          assert.match(res.text, /Please review your order and press Place order again/);
          assert.match(res.text, /class="form-error"/);
          assert.match(c.checkoutToken, /^[A-Za-z0-9_-]{22}$/, "the page offers a fresh token");
          assert.equal(await count("orders"), 0);
          assert.equal(await stock(1), before);
          assert.deepEqual([...(await cartOf(c))], [[1, 2]]);
        }
        await c.get("/checkout");
        assert.equal((await place(c)).status, 303, "pressing Place order on the fresh form works");
      });
    });

    for (const technique of ["sqlite", "memory", "cookie"] as const) {
      describe(`checkout idempotency, ${technique} technique`, () => {
        let shop: Awaited<ReturnType<typeof startTestApp>>;
        beforeEach(async () => {
          shop = await startTestApp({ SESSION_STORE: technique, ...(await postgres.env(data)) });
        });
        afterEach(() => shop.close());
        const orders = async () => (await shop.sql.get<{ n: number }>("SELECT count(*) AS n FROM orders"))!.n;

        it("the answer to the first submission was lost (the browser kept its old session): the retry shows the order and empties the cart", async () => {
          const c = shop.client();
          await addToCart(c, 1, 2);
          await register(c);
          await c.get("/checkout");
          const form = { ...payment, checkoutToken: c.checkoutToken };
          const cookiesBefore = new Map(c.cookies);
          const first = await c.post("/checkout", form);
          assert.equal(first.status, 303);
          // The response never reached the browser: it still has the cookies from before.
          c.cookies.clear();
          for (const [k, v] of cookiesBefore) c.cookies.set(k, v);
          const again = await c.post("/checkout", form);
          assert.equal(again.status, 303);
          assert.equal(again.location, first.location);
          assert.equal(await orders(), 1);
          assert.match((await c.get(again.location!)).text, /already placed/);
          assert.equal((await cartOf(c)).size, 0, "the cart that still held exactly this order is emptied now");
        });
      });
    }
  });
