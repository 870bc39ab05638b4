/** Classic XSS and SQL injection payloads through every input: escaped on output, inert in SQL. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, DATA_STORES, postgresForData, register, startTestApp } from "../test/harness.ts";

const postgres = postgresForData();

const XSS = [
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `'><svg onload=alert(1)>`,
  `javascript:alert(1)`,
  `<a href="javascript:alert(1)">x</a>`,
  `{{7*7}}<%= 7*7 %>`,
  `</textarea><script>alert(1)</script>`,
];
const SQLI = [`' OR '1'='1`, `'; DROP TABLE products; --`, `1 OR 1=1`, `" OR ""="`, `%' UNION SELECT email, password_hash FROM users --`];

/** The payload must never appear unescaped: every <, >, " and ' in it is an entity in the page. */
function assertInert(html: string, payload: string, where: string) {
  assert.ok(!html.includes(payload) || !/[<>"']/.test(payload), `${where}: raw payload in page: ${payload}`);
  assert.doesNotMatch(html, /<script>alert|<(img|svg)\b[^>]*\bon(error|load)=/i, where);
  if (html.includes("{{7*7}}")) assert.ok(html.includes("{{7*7}}&lt;%= 7*7 %&gt;"), `${where}: template syntax is shown as text, not evaluated`);
}

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES)
  describe(`data on ${data}`, () => {
    let app: Awaited<ReturnType<typeof startTestApp>>;
    before(async () => {
      app = await startTestApp(await postgres.env(data));
    });
    after(() => app.close());

    describe("XSS payloads are escaped everywhere they come back", () => {
      for (const payload of XSS) {
        it(`payload ${payload}`, async () => {
          const c = app.client();
          assertInert((await c.get(`/?q=${encodeURIComponent(payload)}`)).text, payload, "search results + search box");
          await c.get("/login");
          assertInert((await c.post("/login", { email: payload, password: "x" })).text, payload, "login form email");
          await c.get("/register");
          assertInert((await c.post("/register", { email: payload, password: payload })).text, payload, "register form");
          assertInert((await c.get(`/login?next=${encodeURIComponent(payload)}`)).text, payload, "login next");
          await register(c);
          await addToCart(c, 1, 1);
          await c.get("/checkout");
          const checkoutError = await c.post("/checkout", { name: payload, address: payload, card: "1", expiry: "x", cvc: "x" });
          assertInert(checkoutError.text, payload, "checkout form with errors");
          const placed = await c.post("/checkout", {
            name: payload,
            address: payload,
            card: "4242424242424242",
            expiry: "12/39",
            cvc: "123",
            checkoutToken: c.checkoutToken,
          });
          assert.equal(placed.status, 303);
          assertInert((await c.get(placed.location!)).text, payload, "order confirmation (stored name and address)");
        });
      }
      it("the error pages do not reflect the URL", async () => {
        const res = await app.client().get(`/products/${encodeURIComponent(XSS[0]!)}`);
        assert.equal(res.status, 404);
        assertInert(res.text, XSS[0]!, "404 page");
      });
    });

    describe("SQL injection strings are just strings", () => {
      it("search matches them literally and finds nothing", async () => {
        for (const payload of SQLI) {
          const res = await app.client().get(`/?q=${encodeURIComponent(payload)}`);
          assert.equal(res.status, 200, payload);
          assert.match(res.text, /No products match/, payload);
        }
      });

      it("forms refuse them cleanly and the tables are intact", async () => {
        const c = app.client();
        await c.get("/login");
        for (const payload of SQLI) {
          assert.equal((await c.post("/login", { email: payload, password: payload })).status, 401);
          assert.equal((await c.post("/login", { email: `a@b.c${payload}`, password: payload })).status, 401);
          assert.ok([400, 404].includes((await c.post("/cart/items", { productId: payload, quantity: payload })).status));
          assert.ok([400, 404].includes((await c.get(`/products/${encodeURIComponent(payload)}`)).status));
        }
        assert.equal((await app.sql.get<{ n: number }>("SELECT count(*) AS n FROM products"))!.n, 30);
      });
    });
  });
