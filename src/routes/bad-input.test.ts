/**
 * A sweep of every route with malformed bodies, wrong types, missing fields, unknown IDs, huge
 * values, unicode and empty strings. Each answer is a friendly page (4xx, or a redirect back with
 * a message), never a 5xx or a stack trace, and nothing stored changes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, type Client, register, startTestApp } from "../test/harness.ts";
import { sealFor } from "../session/seal.ts";

let app: Awaited<ReturnType<typeof startTestApp>>;
let shopper: Client;
before(async () => {
  app = await startTestApp();
  shopper = app.client();
  await addToCart(shopper, 1, 2);
  await register(shopper);
  await addToCart(shopper, 3, 1);
  // The row is sealed at rest (a fresh nonce on every write): opened with the shopper's ID, it holds the cart.
  const [row] = app.sessionRows();
  assert.deepEqual(sealFor(shopper.sessionId()!, row!.id_hash).open(JSON.parse(row!.data)), {
    cart: [
      { productId: 1, quantity: 2 },
      { productId: 3, quantity: 1 },
    ],
  });
});
after(() => app.close());

/** Everything a malformed request could change: carts, stock, orders, accounts. */
const snapshot = () =>
  JSON.stringify({
    carts: app.db.prepare("SELECT id_hash, data, user_id FROM sessions ORDER BY id_hash").all(),
    stock: app.db.prepare("SELECT id, stock FROM products ORDER BY id").all(),
    orders: app.db.prepare("SELECT count(*) AS n FROM orders").get(),
    users: app.db.prepare("SELECT id, email, password_hash FROM users ORDER BY id").all(),
  });

const VALUES: Record<string, string> = {
  empty: "",
  space: " ",
  unicode: "🛒ünïcødé\u202e\u0000",
  huge: "9".repeat(4000),
  negative: "-1",
  float: "2.5",
  exponent: "1e3",
  hex: "0x10",
  unknownId: "99999",
  hugeInt: "99999999999999999999",
  nan: "NaN",
  object: "[object Object]",
  proto: "__proto__",
};

const POST_ROUTES: [string, string[]][] = [
  ["/cart/items", ["productId", "quantity", "returnTo"]],
  ["/cart/items/1", ["quantity"]],
  ["/cart/items/99999", ["quantity"]],
  ["/cart/items/abc", ["quantity"]],
  ["/cart/items/-1/delete", []],
  ["/cart/items/99999/delete", []],
  ["/checkout", ["name", "address", "card", "expiry", "cvc", "checkoutToken"]],
  ["/account/sessions/end", ["session"]],
  ["/login", ["email", "password", "next"]],
  ["/register", ["email", "password", "next"]],
];
const GET_ROUTES = [
  "/?q=",
  "/?q=%00",
  "/?q[]=x",
  "/?q=🛒",
  "/categories/%00",
  `/categories/${"x".repeat(3000)}`,
  "/products/🛒",
  "/products/..%2f..%2fetc%2fpasswd",
  "/orders/99999",
  "/orders/-1",
  "/orders/1e3",
  "/cart?x=<script>",
  "/images/../../package.json",
];

function assertFriendly(res: { status: number; text: string }, what: string) {
  assert.ok(res.status < 500, `${what}: ${res.status}`);
  assert.doesNotMatch(res.text, /at \w+ \(|node_modules|SqliteError|TypeError|ReferenceError/, `${what}: internals leaked`);
  if (res.status >= 400) assert.match(res.text, /class="error-code"|class="form-error"|class="field-error"/, `${what}: not a friendly page`);
}

describe("bad input everywhere", () => {
  it("POST routes: every field set to every kind of bad value, one at a time", async () => {
    // Checkout and the session list need the session kept; logout is swept last, separately.
    for (const [route, fields] of POST_ROUTES) {
      for (const field of fields.length ? fields : ["_none"]) {
        for (const [name, value] of Object.entries(VALUES)) {
          await shopper.get("/cart");
          const before = snapshot();
          const res = await shopper.post(route, { [field]: value });
          assertFriendly(res, `${route} ${field}=${name}`);
          if (route !== "/login" && route !== "/register") assert.equal(snapshot(), before, `${route} ${field}=${name} changed stored data`);
          if (route === "/login" || route === "/register") assert.notEqual(res.status, 303, `${route} accepted ${field}=${name}`);
        }
      }
    }
  });

  it("POST routes: repeated fields (arrays), no body at all, and the wrong content type", async () => {
    for (const [route, fields] of POST_ROUTES) {
      await shopper.get("/cart");
      const before = snapshot();
      const repeated = new URLSearchParams([
        ["_csrf", shopper.csrf],
        ...fields.flatMap(
          (f) =>
            [
              [f, "1"],
              [f, "2"],
            ] as [string, string][],
        ),
      ]);
      const inits: { headers: Record<string, string>; body: string }[] = [
        { headers: { "content-type": "application/x-www-form-urlencoded", cookie: shopper.cookieHeader() }, body: repeated.toString() },
        { headers: { "content-type": "application/x-www-form-urlencoded", cookie: shopper.cookieHeader() }, body: `_csrf=${shopper.csrf}` },
        { headers: { "content-type": "application/json", cookie: shopper.cookieHeader(), "x-csrf-token": shopper.csrf }, body: '{"productId":1,"quantity":1}' },
        { headers: { "content-type": "application/x-www-form-urlencoded", cookie: shopper.cookieHeader() }, body: "%%%&&&===" },
      ];
      for (const init of inits) {
        const res = await fetch(app.url + route, { method: "POST", redirect: "manual", ...init });
        assertFriendly({ status: res.status, text: await res.text() }, `${route} ${init.body.slice(0, 30)}`);
      }
      if (route !== "/login" && route !== "/register") assert.equal(snapshot(), before, route);
    }
  });

  it("GET routes with odd paths and parameters", async () => {
    const before = snapshot();
    for (const route of GET_ROUTES) {
      const res = await shopper.get(route);
      assertFriendly(res, route);
      assert.doesNotMatch(res.text, /"name": "stateful-shop"/, `${route} served a file outside public/`);
    }
    assert.equal(snapshot(), before);
  });

  it("unknown methods and routes are 404 pages", async () => {
    for (const [method, route] of [
      ["PUT", "/cart"],
      ["DELETE", "/cart/items/1"],
      ["PATCH", "/"],
      ["POST", "/nope"],
    ] as const) {
      const res = await shopper.request(method, route, { form: { _csrf: shopper.csrf } });
      assert.equal(res.status, 404, `${method} ${route}`);
      assertFriendly(res, `${method} ${route}`);
    }
  });
});
