/** CSRF, security headers and caching rules, through real HTTP. */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, Client, register, startTestApp } from "../test/harness.ts";

let app: Awaited<ReturnType<typeof startTestApp>>;
beforeEach(async () => {
  app = await startTestApp();
});
afterEach(() => app.close());

describe("CSRF protection", () => {
  it("a cross-site POST is refused with 403 and changes nothing", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const hostile: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of hostile) {
      const res = await c.post("/cart/empty", {}, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.text, /sent from another site/);
    }
    assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
  });

  it("a same-origin browser POST with the page's token is accepted", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const res = await c.post("/cart/empty", {}, { "sec-fetch-site": "same-origin", origin: app.url });
    assert.equal(res.status, 303);
  });

  it("with a session, a missing or wrong token is refused even without browser headers", async () => {
    const c = app.client();
    await addToCart(c, 1, 2);
    await c.get("/cart");
    const good = c.csrf;
    c.csrf = "";
    assert.equal((await c.post("/cart/empty")).status, 403);
    c.csrf = good.slice(0, -2) + (good.endsWith("AA") ? "BB" : "AA");
    assert.equal((await c.post("/cart/empty")).status, 403);
    assert.deepEqual([...(await cartOf(c))], [[1, 2]]);
  });

  it("every page masks the token afresh (no constant secret beside reflected input under compression), and each masking works", async () => {
    const c = app.client();
    await addToCart(c, 1, 2);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      // A search that finds most of the catalog: a page over 12 KB, so compressed (middleware/compress.ts).
      const res = await c.get("/?q=e", { "accept-encoding": "br" });
      assert.equal(res.headers.get("content-encoding"), "br", "HTML that reflects input is compressed, which is why the mask matters");
      seen.add(c.csrf);
    }
    assert.equal(seen.size, 3, "three pages, three different token bytes");
    for (const token of seen) {
      c.csrf = token;
      assert.equal((await c.post("/cart/items/1", { quantity: "3" })).status, 303, "an older page's form still works");
    }
    assert.deepEqual([...(await cartOf(c))], [[1, 3]]);
  });

  it("the token is tied to the session: another visitor's token does not work, and login replaces it", async () => {
    const a = app.client();
    const b = app.client();
    await addToCart(a, 1, 1);
    await addToCart(b, 2, 1);
    await a.get("/cart");
    await b.get("/cart");
    const tokenBeforeLogin = a.csrf;
    a.csrf = b.csrf;
    assert.equal((await a.post("/cart/empty")).status, 403);
    a.csrf = tokenBeforeLogin;
    await register(a);
    await a.get("/cart");
    assert.notEqual(a.csrf, tokenBeforeLogin);
    a.csrf = tokenBeforeLogin;
    assert.equal((await a.post("/cart/empty")).status, 403, "a pre-login token is useless after login");
  });

  it("behind a trusted proxy, the public host (X-Forwarded-Host) is the one compared", async () => {
    const proxied = await startTestApp({ TRUST_PROXY: "loopback" });
    try {
      const c = proxied.client();
      const headers = { "x-forwarded-host": "shop.example", "x-forwarded-proto": "https" };
      await c.get("/", headers);
      const ok = await c.post(
        "/cart/items",
        { productId: "1", quantity: "1" },
        { ...headers, origin: "https://shop.example", "sec-fetch-site": "same-origin" },
      );
      assert.equal(ok.status, 303);
      await c.get("/", headers);
      const evil = await c.post("/cart/empty", {}, { ...headers, origin: "https://evil.example" });
      assert.equal(evil.status, 403);
      // The same host over plain HTTP is another origin (a network attacker can serve it): refused,
      // even with a valid token. So is another port.
      for (const origin of ["http://shop.example", "https://shop.example:8443"]) {
        await c.get("/", headers);
        const res = await c.post("/cart/empty", {}, { ...headers, origin, "sec-fetch-site": "same-origin" });
        assert.equal(res.status, 403, origin);
      }
      assert.deepEqual([...(await cartOf(c))], [[1, 1]], "the cart is as it was");
    } finally {
      await proxied.close();
    }
  });

  it("over HTTPS, HSTS asks browsers to remember it for a year and for subdomains", async () => {
    const secure = await startTestApp({ COOKIE_SECURE: "true" });
    try {
      const res = await secure.client().get("/");
      assert.equal(res.headers.get("strict-transport-security"), "max-age=31536000; includeSubDomains");
      assert.equal((await app.client().get("/")).headers.get("strict-transport-security"), null, "never over plain HTTP");
    } finally {
      await secure.close();
    }
  });

  it("login CSRF: a cross-site login form is refused", async () => {
    const victim = app.client();
    const attacker = app.client();
    const { email, password } = await register(attacker);
    const res = await victim.request("POST", "/login", {
      form: { email, password },
      headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    });
    assert.equal(res.status, 403);
    assert.equal(victim.cookies.has("shop_sid"), false);
  });

  it("the sign-in and registration forms carry a pre-session token: a post without it is refused even with no Origin or Sec-Fetch-Site", async () => {
    const attacker = app.client();
    const { email, password } = await register(attacker);
    // A client that sends neither header (an old browser, a script): the token is the only defence left.
    const blind = app.client();
    const forged = await blind.request("POST", "/login", { form: { email, password } });
    assert.equal(forged.status, 403, "no pre-session cookie and token: refused");
    assert.equal(blind.cookies.has("shop_sid"), false);

    const visitor = app.client();
    const rowsBefore = app.sessionRows().length;
    const page = await visitor.get("/login");
    assert.equal(page.status, 200);
    assert.ok(visitor.cookies.has("shop_presession"), "the form page sets a pre-session cookie");
    assert.equal(visitor.cookies.has("shop_sid"), false, "but no session: creation stays lazy");
    assert.equal(app.sessionRows().length, rowsBefore, "and no row");
    assert.ok(visitor.csrf.length > 0, "the form carries a token for that cookie");

    visitor.csrf = "";
    assert.equal((await visitor.post("/login", { email, password })).status, 403, "the cookie alone is not enough");
    const other = app.client();
    await other.get("/login");
    visitor.csrf = other.csrf;
    assert.equal((await visitor.post("/login", { email, password })).status, 403, "another visitor's token does not fit this cookie");
    await visitor.get("/login");
    assert.equal((await visitor.post("/login", { email, password })).status, 303, "the page's own token signs in");
    assert.ok(visitor.cookies.has("shop_sid"));
  });
});

describe("headers", () => {
  it("every page has a strict CSP, no framing, nosniff and a referrer policy", async () => {
    const res = await app.client().get("/");
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "same-origin");
    assert.equal(res.headers.get("x-powered-by"), null);
    assert.doesNotMatch(res.text, /<script/i, "the shop needs no script at all");
  });

  it("pages that show session data are never cached and vary by cookie", async () => {
    const c = app.client();
    await register(c);
    await addToCart(c, 1, 1);
    for (const path of ["/", "/cart", "/orders", "/products/ceramic-teapot", "/no-such-page"]) {
      const res = await c.get(path);
      assert.equal(res.headers.get("cache-control"), "no-store", path);
      assert.match(res.headers.get("vary") ?? "", /Cookie/, path);
    }
  });

  it("the session ID never appears in a page, a URL or a redirect", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    const id = c.sessionId()!;
    await register(c);
    const newId = c.sessionId()!;
    for (const path of ["/", "/cart", "/orders", "/checkout"]) {
      const res = await c.get(path);
      assert.ok(!res.text.includes(id) && !res.text.includes(newId), path);
      assert.ok(!(res.location ?? "").includes(newId));
    }
  });
});

describe("bad bodies", () => {
  it("an oversized form gets a friendly 413 and changes nothing", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const res = await c.post("/cart/items", { productId: "2", quantity: "1", filler: "x".repeat(20_000) });
    assert.equal(res.status, 413);
    assert.match(res.text, /too large/);
    assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
  });

  it("a JSON client gets JSON errors", async () => {
    const c = app.client();
    const res = await c.request("POST", "/cart/items", { form: { productId: "x" }, headers: { accept: "application/json" } });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).error.status, 400);
  });

  it("no stack trace ever reaches the page", async () => {
    const c = new Client(app.url);
    for (const [path, form] of [
      ["/cart/items", { productId: ["1", "2"] as unknown as string, quantity: "1" }],
      ["/login", { email: "x".repeat(5000), password: "y" }],
      ["/register", { email: "a@b.c" }],
      ["/checkout", {}],
    ] as const) {
      const res = await c.post(path, form);
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      assert.doesNotMatch(res.text, /at \w+ \(|node_modules|Error:/, path);
    }
  });
});
