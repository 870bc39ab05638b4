import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DATA_STORES, postgresForData, startTestApp } from "../test/harness.ts";

const postgres = postgresForData();

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES)
  describe(`data on ${data}`, () => {
    let app: Awaited<ReturnType<typeof startTestApp>>;
    before(async () => {
      app = await startTestApp(await postgres.env(data));
    });
    after(() => app.close());

    const cards = (html: string) => [...html.matchAll(/<h[23] class="card-title">([^<]*)<\/h[23]>/g)].map((m) => m[1]);

    describe("catalog pages", () => {
      it("the home page shows every product and every category", async () => {
        const res = await app.client().get("/");
        assert.equal(res.status, 200);
        const names = cards(res.text);
        assert.equal(names.length, 30);
        for (const c of ["Tea &amp; Coffee", "Kitchen", "Stationery", "Home &amp; Living", "Outdoors"]) assert.ok(res.text.includes(c), c);
        assert.match(res.text, /\$42\.00/);
      });

      it("a category page shows only that category's products", async () => {
        const res = await app.client().get("/categories/kitchen");
        assert.equal(res.status, 200);
        assert.match(res.text, /<h1>Kitchen<\/h1>/);
        assert.equal(cards(res.text).length, 6);
        assert.match(res.text, /aria-current="page">Kitchen</);
      });

      it("a product page shows the product with its price and stock", async () => {
        const res = await app.client().get("/products/ceramic-teapot");
        assert.equal(res.status, 200);
        assert.match(res.text, /<h1>Ceramic Teapot<\/h1>/);
        assert.match(res.text, /\$42\.00/);
        assert.match(res.text, /In stock/);
        const sold = await app.client().get("/products/fountain-pen");
        assert.match(sold.text, /Sold out/);
        assert.doesNotMatch(sold.text, />Add to cart</);
        const low = await app.client().get("/products/enamel-dutch-oven");
        assert.match(low.text, /Only 2 left/);
        assert.match(low.text, /max="2"/);
      });

      it("search finds products by name and description, case-insensitively", async () => {
        const res = await app.client().get("/?q=TEAPOT");
        assert.equal(res.status, 200);
        assert.deepEqual(cards(res.text), ["Ceramic Teapot"]);
        const none = await app.client().get("/?q=submarine");
        assert.match(none.text, /No products match “submarine”/);
      });

      it("search treats % and _ literally and escapes what it echoes", async () => {
        assert.match((await app.client().get("/?q=%25")).text, /No products match/);
        assert.match((await app.client().get("/?q=_")).text, /No products match/);
        const res = await app.client().get(`/?q=${encodeURIComponent("<script>alert(1)</script>")}`);
        assert.equal(res.status, 200);
        assert.ok(!res.text.includes("<script>alert(1)</script>"));
        assert.ok(res.text.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
      });

      it("over-long or repeated search terms get a friendly 400", async () => {
        const long = await app.client().get(`/?q=${"a".repeat(101)}`);
        assert.equal(long.status, 400);
        assert.match(long.text, /at most 100 characters/);
        assert.match(long.text, /Back to the shop/);
        assert.equal((await app.client().get("/?q=a&q=b")).status, 400);
      });

      it("unknown categories, products and pages get a styled 404 (JSON for JSON clients)", async () => {
        for (const path of ["/categories/nope", "/products/nope", "/no/such/page", "/products/%E0%A4%A"]) {
          const res = await app.client().get(path);
          assert.ok([400, 404].includes(res.status), `${path}: ${res.status}`);
          assert.match(res.text, /class="error-code"/);
          assert.match(res.text, /Stateful Shop/);
        }
        const json = await app.client().get("/products/nope", { accept: "application/json" });
        assert.equal(json.status, 404);
        assert.deepEqual(JSON.parse(json.text), { error: { status: 404, title: "Not found", message: "We couldn't find that product." } });
      });

      it("serves the product images and the stylesheet without touching sessions", async () => {
        const img = await app.client().get("/images/products/ceramic-teapot.svg");
        assert.equal(img.status, 200);
        assert.match(img.headers.get("content-type")!, /image\/svg\+xml/);
        const css = await app.client().get("/style.css");
        assert.equal(css.status, 200);
        assert.equal(css.headers.get("cache-control")?.includes("no-store"), false);
      });

      it("every page has a meta description, specific to the product or category it shows (search engines, link previews)", async () => {
        const description = (html: string) => /<meta name="description" content="([^"]*)">/.exec(html)?.[1];
        const shopper = app.client();
        const home = description((await shopper.get("/")).text);
        const category = description((await shopper.get("/categories/kitchen")).text);
        const product = description((await shopper.get("/products/ceramic-teapot")).text);
        const cart = description((await shopper.get("/cart")).text);
        for (const d of [home, category, product, cart]) assert.ok(d && d.length >= 50 && d.length <= 160, `a useful length: ${d}`);
        assert.match(category!, /^Kitchen at Stateful Shop/);
        assert.match(product!, /teapot/i);
        assert.equal(new Set([home, category, product]).size, 3, "home, category and product each say something of their own");
      });

      it("compresses pages and the stylesheet for clients that accept it", async () => {
        for (const [path, encoding] of [
          ["/", "br"],
          ["/style.css", "gzip"],
        ] as const) {
          const res = await fetch(`${app.url}${path}`, { headers: { "accept-encoding": encoding } });
          assert.equal(res.headers.get("content-encoding"), encoding, path);
          assert.equal(res.headers.get("vary")?.toLowerCase().includes("accept-encoding"), true, `${path}: caches keep one copy per encoding`);
          assert.ok((await res.text()).length > 1000, "and still decodes to the full page");
        }
      });
    });
  });
