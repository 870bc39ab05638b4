import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, Client, DATA_STORES, postgresForData, startTestApp } from "../test/harness.ts";

const postgres = postgresForData();

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES)
  describe(`data on ${data}`, () => {
    let app: Awaited<ReturnType<typeof startTestApp>>;
    beforeEach(async () => {
      app = await startTestApp(await postgres.env(data));
    });
    afterEach(() => app.close());

    const flashOf = async (c: Client) => /<div class="flash flash-(\w+)"><p>([^<]*)<\/p>/.exec((await c.get("/cart")).text)?.slice(1);

    describe("the cart", () => {
      it("adds, merges, changes and removes lines, and empties", async () => {
        const c = app.client();
        const res = await addToCart(c, 1, 2);
        assert.equal(res.status, 303);
        assert.equal(res.location, "/cart");
        assert.deepEqual(await flashOf(c), ["success", "Added 2 × Ceramic Teapot to your cart."], "the next page shows what happened");
        assert.equal(await flashOf(c), undefined, "once");
        await addToCart(c, 1, 1);
        await addToCart(c, 7, 1);
        assert.deepEqual(
          [...(await cartOf(c))],
          [
            [1, 3],
            [7, 1],
          ],
        );
        await c.post("/cart/items/1", { quantity: "5" });
        assert.equal((await cartOf(c)).get(1), 5);
        await c.post("/cart/items/7/delete");
        assert.deepEqual([...(await cartOf(c))], [[1, 5]]);
        await c.post("/cart/empty");
        assert.equal((await cartOf(c)).size, 0);
      });

      it("shows line totals, the subtotal in dollars, and an accessible badge", async () => {
        const c = app.client();
        await addToCart(c, 1, 2); // 2 × $42.00
        await addToCart(c, 2, 1);
        const page = await c.get("/cart");
        assert.match(page.text, /\$84\.00/);
        const subtotal = /data-testid="subtotal">([^<]*)</.exec(page.text)![1];
        assert.match(subtotal!, /^\$\d+\.\d\d$/);
        assert.equal(Client.badge(page.text), 3);
        assert.match(page.text, /aria-label="Cart, 3 items"/);
        const one = app.client();
        await addToCart(one, 1, 1);
        assert.match((await one.get("/")).text, /aria-label="Cart, 1 item"/);
      });

      it("refuses bad quantities with a 400 page and leaves the cart as it was", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        await c.get("/cart");
        for (const quantity of ["0", "-1", "1.5", "abc", "", "11", "1e1", " 3"]) {
          const add = await c.post("/cart/items", { productId: "2", quantity });
          assert.equal(add.status, 400, `add quantity ${JSON.stringify(quantity)}`);
          assert.match(add.text, /whole number from 1 to 10/);
          const set = await c.post("/cart/items/1", { quantity });
          assert.equal(set.status, 400, `set quantity ${JSON.stringify(quantity)}`);
        }
        assert.deepEqual([...(await cartOf(c))], [[1, 2]]);
      });

      it("refuses unknown or malformed products", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        await c.get("/cart");
        assert.equal((await c.post("/cart/items", { productId: "999", quantity: "1" })).status, 404);
        assert.equal((await c.post("/cart/items", { productId: "1; DROP TABLE products", quantity: "1" })).status, 400);
        assert.equal((await c.post("/cart/items", { quantity: "1" })).status, 400);
        assert.equal((await c.post("/cart/items/999", { quantity: "1" })).status, 404);
        assert.equal((await c.post("/cart/items/abc/delete")).status, 400);
        assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
      });

      it("refuses more than 10 of a product or more than the stock, with a message", async () => {
        const c = app.client();
        await addToCart(c, 1, 8);
        await addToCart(c, 1, 3);
        assert.deepEqual(await flashOf(c), ["error", "You can have at most 10 of Ceramic Teapot in your cart; it would have 11."]);
        await addToCart(c, 11, 2); // enamel dutch oven: 2 in stock
        await addToCart(c, 11, 1);
        assert.deepEqual(await flashOf(c), ["error", "Only 2 of Enamel Dutch Oven left in stock; your cart would have 3."]);
        await addToCart(c, 14, 1); // sold out
        assert.equal((await flashOf(c))?.[0], "error");
        await c.post("/cart/items/11", { quantity: "3" });
        assert.deepEqual(
          [...(await cartOf(c))],
          [
            [1, 8],
            [11, 2],
          ],
        );
      });

      it("a refused first add creates no session", async () => {
        const c = app.client();
        await addToCart(c, 14, 1);
        assert.equal(app.sessionRows().length, 0);
        assert.equal(c.cookies.has("shop_sid"), false);
      });

      it("returns to the page the shopper added from, but never to another site", async () => {
        const c = app.client();
        await c.get("/");
        const back = await c.post("/cart/items", { productId: "1", quantity: "1", returnTo: "/categories/kitchen" });
        assert.equal(back.location, "/categories/kitchen");
        await c.get("/categories/kitchen"); // the session exists now: pick up its form token
        for (const evil of ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
          const res = await c.post("/cart/items", { productId: "1", quantity: "1", returnTo: evil });
          assert.equal(res.location, "/products/ceramic-teapot", evil);
        }
      });

      it("removing from or emptying a cart that does not exist creates nothing", async () => {
        const c = app.client();
        await c.get("/cart");
        assert.equal((await c.post("/cart/items/1/delete")).status, 303);
        assert.equal((await c.post("/cart/empty")).status, 303);
        assert.equal(app.sessionRows().length, 0);
      });
    });
  });
