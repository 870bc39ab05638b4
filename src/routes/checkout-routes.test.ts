import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, Client, register, startTestApp } from "../test/harness.js";

let app: Awaited<ReturnType<typeof startTestApp>>;
beforeEach(async () => {
  app = await startTestApp();
});
afterEach(() => app.close());

const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };
const stock = (id: number) => (app.db.prepare("SELECT stock FROM products WHERE id = ?").get(id) as { stock: number }).stock;
const count = (table: string) => (app.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

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
    const [s1, s3] = [stock(1), stock(3)];
    await c.get("/checkout");
    const res = await c.post("/checkout", payment);
    assert.equal(res.status, 303);
    const orderPath = res.location!;
    assert.match(orderPath, /^\/orders\/\d+$/);
    assert.equal(stock(1), s1 - 2);
    assert.equal(stock(3), s3 - 1);
    assert.equal((await cartOf(c)).size, 0);
    const confirmation = await c.get(orderPath);
    assert.match(confirmation.text, /Order #\d+ is confirmed/);
    assert.match(confirmation.text, /ending in 4242/);
    assert.match(confirmation.text, /Ada Lovelace/);
    assert.doesNotMatch(confirmation.text, /4242 4242 4242 4242/, "the full card number is never kept");
    const history = await c.get("/orders");
    assert.ok(history.text.includes(`href="${orderPath}"`));
    const row = app.db.prepare("SELECT card_last4, total_cents FROM orders").get() as { card_last4: string; total_cents: number };
    assert.equal(row.card_last4, "4242");
  });

  it("when stock ran out meanwhile, names the line and charges nothing", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await addToCart(c, 6, 3); // the grinder: all 3 in stock
    await register(c);
    app.db.prepare("UPDATE products SET stock = 1 WHERE id = 6").run(); // someone else bought two
    const before = stock(1);
    await c.get("/checkout");
    const res = await c.post("/checkout", payment);
    assert.equal(res.status, 409);
    assert.match(res.text, /nothing was charged/);
    assert.match(res.text, /Hand Coffee Grinder: you asked for 3, only 1 are left/i);
    assert.equal(count("orders"), 0);
    assert.equal(count("order_lines"), 0);
    assert.equal(stock(1), before, "no stock moved for the line that was available either");
    assert.deepEqual([...(await cartOf(c))], [[1, 1], [6, 3]], "the cart is as it was");
  });

  it("two shoppers racing for the last items: exactly one gets them", async () => {
    app.db.prepare("UPDATE products SET stock = 2 WHERE id = 2").run();
    const shoppers = [app.client(), app.client()];
    for (const s of shoppers) {
      await addToCart(s, 2, 2);
      await register(s);
      await s.get("/checkout");
    }
    const results = await Promise.all(shoppers.map((s) => s.post("/checkout", payment)));
    assert.deepEqual(results.map((r) => r.status).sort(), [303, 409]);
    assert.equal(stock(2), 0);
    assert.equal(count("orders"), 1);
  });

  it("refuses invalid payment details with messages, keeping what was typed (but not the card)", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await register(c);
    await c.get("/checkout");
    const res = await c.post("/checkout", { name: "<b>Bob</b>", address: "", card: "4242 4242 4242 4241", expiry: "01/20", cvc: "12" });
    assert.equal(res.status, 400);
    assert.match(res.text, /Enter your address/);
    assert.match(res.text, /card number is not valid/);
    assert.match(res.text, /card has expired/);
    assert.match(res.text, /security code/);
    assert.match(res.text, /value="&lt;b&gt;Bob&lt;\/b&gt;"/);
    assert.equal(count("orders"), 0);
    assert.equal((await cartOf(c)).size, 1);
  });

  it("an empty cart cannot be checked out", async () => {
    const c = app.client();
    await register(c);
    const res = await c.get("/checkout");
    assert.equal(res.status, 303);
    assert.equal(res.location, "/cart");
    await c.get("/cart");
    assert.equal((await c.post("/checkout", payment)).status, 303);
    assert.equal(count("orders"), 0);
  });

  it("one shopper cannot see another's order", async () => {
    const a = app.client();
    await addToCart(a, 1, 1);
    await register(a);
    await a.get("/checkout");
    const placed = await a.post("/checkout", payment);
    const b = app.client();
    await register(b);
    assert.equal((await b.get(placed.location!)).status, 404);
    assert.equal((await b.get("/orders/abc")).status, 404);
    assert.doesNotMatch((await b.get("/orders")).text, /Order #/);
  });
});
