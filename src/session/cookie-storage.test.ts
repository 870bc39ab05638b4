/**
 * The cookie technique through real HTTP: the cart rides in an AES-256-GCM cookie, nothing is
 * stored on the server, tampering and old secrets are handled, the 4 KB wall is refused politely,
 * and the documented differences (no revocation) hold.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, register, SECRET_A, SECRET_B, startTestApp } from "../test/harness.ts";
import { createCookieSealer, MAX_COOKIE_BYTES } from "./cookie-storage.ts";
import { newSessionId } from "./id.ts";
import type { CartLine } from "./types.ts";

const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
async function shop(env: Record<string, string> = {}) {
  const app = await startTestApp({ SESSION_STORE: "cookie", ...env });
  apps.push(app);
  return app;
}
const badge = (html: string) => Number(/aria-label="Cart, (\d+) items?"/.exec(html)![1]);

describe("cookie technique", () => {
  it("keeps the cart in a sealed cookie and nothing in the sessions table", async () => {
    const app = await shop();
    const c = app.client();
    await addToCart(c, 1, 2);
    await addToCart(c, 2, 1);
    const value = c.cookies.get("shop_sid")!;
    assert.match(value, /^[A-Za-z0-9_-]{80,}$/, "one opaque base64url blob");
    assert.doesNotMatch(Buffer.from(value, "base64url").toString("latin1"), /productId/, "the cart is encrypted, not just encoded");
    assert.deepEqual(
      [...(await cartOf(c))],
      [
        [1, 2],
        [2, 1],
      ],
    );
    assert.equal(app.sessionRows().length, 0);
  });

  it("a changed character gives a fresh empty session and clears the cookie", async () => {
    const app = await shop();
    const c = app.client();
    await addToCart(c, 1, 1);
    const v = c.cookies.get("shop_sid")!;
    const i = Math.floor(v.length / 2);
    c.cookies.set("shop_sid", v.slice(0, i) + (v[i] === "A" ? "B" : "A") + v.slice(i + 1));
    const res = await c.get("/cart");
    assert.equal(badge(res.text), 0);
    assert.equal(c.cookies.has("shop_sid"), false);
  });

  it("opens cookies sealed with an older secret and re-seals them with the current one", async () => {
    const old = await shop({ SESSION_SECRETS: SECRET_B });
    const c = old.client();
    await addToCart(c, 4, 3);
    const sealedWithB = c.cookies.get("shop_sid")!;
    const rotated = await shop({ SESSION_SECRETS: `${SECRET_A},${SECRET_B}` });
    const moved = rotated.client();
    moved.cookies.set("shop_sid", sealedWithB);
    assert.deepEqual([...(await cartOf(moved))], [[4, 3]], "still valid after rotation");
    assert.notEqual(moved.cookies.get("shop_sid"), sealedWithB, "re-sealed under the new secret");
    const onlyA = createCookieSealer([SECRET_A], "shop_sid");
    assert.ok(onlyA.open(moved.cookies.get("shop_sid")!), "the new value opens with the current secret alone");
    assert.equal(onlyA.open(sealedWithB), null);
  });

  it("a sealed value cannot be moved to another cookie name", () => {
    const sealed = createCookieSealer([SECRET_A], "shop_sid").seal({
      id: newSessionId(),
      data: { cart: [] },
      userId: 1,
      createdAt: 0,
      lastSeenAt: 0,
      expiresAt: 1,
    });
    assert.equal(createCookieSealer([SECRET_A], "other_cookie").open(sealed), null);
  });

  it("remembers what a cookie opened to, frozen, and still refuses every changed copy of it", () => {
    const sealer = createCookieSealer([SECRET_A], "shop_sid");
    const value = { id: newSessionId(), data: { cart: [{ productId: 3, quantity: 2 }] }, userId: null, createdAt: 0, lastSeenAt: 0, expiresAt: 1 };
    const cookie = sealer.seal(value);
    const first = sealer.open(cookie)!;
    assert.deepEqual(first.value.data.cart, [{ productId: 3, quantity: 2 }]);
    assert.equal(sealer.open(cookie), first, "the same string opens to the same remembered value");
    assert.throws(
      () => (first.value.data.cart as CartLine[]).push({ productId: 1, quantity: 1 }),
      TypeError,
      "shared by every request with that cookie: frozen",
    );
    assert.throws(() => {
      (first.value.data.cart[0] as { quantity: number }).quantity = 9;
    }, TypeError);
    // The highest of the 6 bits a base64url character carries: the last character may carry only 2 or 4,
    // and its low bits decode to nothing ("A" → "B" there is the same cookie, which rightly opens).
    const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (const i of [0, 13, cookie.length >> 1, cookie.length - 1]) {
      const changed = cookie.slice(0, i) + B64URL[B64URL.indexOf(cookie[i]!) ^ 32] + cookie.slice(i + 1);
      assert.notDeepEqual(Buffer.from(changed, "base64url"), Buffer.from(cookie, "base64url"));
      assert.equal(sealer.open(changed), null, `a change at ${i} is refused, remembered original or not`);
    }
    // Another process (or a restart) has nothing remembered: the same cookie opens by decrypting.
    assert.deepEqual(createCookieSealer([SECRET_A], "shop_sid").open(cookie)!.value, first.value);
  });

  it("seals the same session 600 times under 600 different IVs (cut from pooled CSPRNG draws)", () => {
    const sealer = createCookieSealer([SECRET_A], "shop_sid");
    const value = { id: newSessionId(), data: { cart: [] }, userId: null, createdAt: 0, lastSeenAt: 0, expiresAt: 1 };
    const ivs = new Set<string>();
    for (let i = 0; i < 600; i++)
      ivs.add(
        Buffer.from(sealer.seal({ ...value, data: { cart: [] } }), "base64url")
          .subarray(0, 12)
          .toString("hex"),
      );
    assert.equal(ivs.size, 600);
  });

  it("remembers at most its bound of opened cookies, and a forgotten one still opens", () => {
    const sealer = createCookieSealer([SECRET_A], "shop_sid", 3);
    const cookies = Array.from({ length: 5 }, (_, i) =>
      sealer.seal({ id: newSessionId(), data: { cart: [{ productId: i + 1, quantity: 1 }] }, userId: null, createdAt: 0, lastSeenAt: 0, expiresAt: 1 }),
    );
    const first = sealer.open(cookies[0]!)!; // forgotten (only the last 3 are kept): decrypted again
    assert.deepEqual(first.value.data.cart, [{ productId: 1, quantity: 1 }]);
    assert.equal(sealer.open(cookies[4]!), sealer.open(cookies[4]!), "a recent one is remembered");
  });

  it("honours the idle and the absolute timeout from the times sealed inside", async () => {
    const app = await shop({ SESSION_IDLE_SECONDS: "60", SESSION_ABSOLUTE_SECONDS: "300" });
    const c = app.client();
    await addToCart(c, 1, 1);
    app.clock.advance(61_000);
    assert.equal(badge((await c.get("/cart")).text), 0, "idle");
    await addToCart(c, 1, 1);
    for (let i = 0; i < 6; i++) {
      app.clock.advance(50_000);
      await c.get("/cart");
    }
    assert.equal(badge((await c.get("/cart")).text), 0, "absolute, however active");
  });

  it("refuses a change that would not fit in 4096 bytes, with a message, and keeps the cart as it was", async () => {
    const app = await shop();
    const c = app.client();
    for (const id of [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20, 21]) await addToCart(c, id, 1);
    let refused = "";
    for (const id of [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20, 21]) {
      await c.get("/cart");
      const before = c.cookies.get("shop_sid");
      const res = await c.post(`/cart/items/${id}/note`, { note: "x".repeat(200) });
      assert.equal(res.status, 303, "never a 5xx");
      const page = await c.get("/cart");
      if (page.text.includes("no longer fits in a cookie")) {
        refused = page.text;
        assert.equal(c.cookies.get("shop_sid"), before, "the old cookie stays");
        break;
      }
    }
    assert.match(refused, /Your cart no longer fits in a cookie: it would need [\d,]+ bytes and browsers keep at most 4,096\. Nothing was changed\./);
    assert.ok(c.cookieHeader().length < MAX_COOKIE_BYTES + 200);
    assert.equal(badge(refused), 18);
  });

  it("a refused note leaves every line and every earlier note exactly as it was", async () => {
    const app = await shop();
    const c = app.client();
    const ids = [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20, 21];
    for (const id of ids) await addToCart(c, id, 1);
    let before = "";
    let after = "";
    for (const [n, id] of ids.entries()) {
      before = cartState((await c.get("/cart")).text);
      const res = await c.post(`/cart/items/${id}/note`, { note: `${n}`.padEnd(200, "n") });
      assert.ok(res.status < 500, `note ${n}: ${res.status}`);
      const page = await c.get("/cart");
      after = cartState(page.text);
      if (page.text.includes("Your cart no longer fits in a cookie")) break;
      assert.notEqual(after, before, "a note that fits is saved");
    }
    assert.ok(before.includes("n".repeat(150)), "some notes were saved before the wall");
    assert.equal(after, before, "the refused change touched nothing");
  });

  it("a sealed value presented under another cookie name is rejected over HTTP (the name is authenticated)", async () => {
    const plain = await shop();
    const c = plain.client();
    await addToCart(c, 5, 2);
    const value = c.cookies.get("shop_sid")!;
    const secure = await shop({ COOKIE_SECURE: "true" }); // same secret, cookie named __Host-shop_sid
    const moved = secure.client();
    moved.cookies.set("__Host-shop_sid", value);
    const res = await moved.get("/cart");
    assert.equal(res.status, 200);
    assert.equal(badge(res.text), 0, "a fresh, empty session");
    assert.equal(moved.cookies.has("__Host-shop_sid"), false, "the rejected cookie is cleared");
    const own = secure.client();
    await addToCart(own, 5, 2);
    assert.equal(badge((await own.get("/cart")).text), 2, "the same shop accepts its own cookie");
  });

  it("the lab 2 button hits the wall in cookie mode and fits in SQLite mode", async () => {
    const cookie = await shop();
    const c = cookie.client();
    await c.get("/labs/2");
    await c.post("/labs/2/fill");
    assert.match((await c.get("/labs/2")).text, /no longer fits in a cookie/);
    const sqlite = await startTestApp();
    apps.push(sqlite);
    const s = sqlite.client();
    await s.get("/labs/2");
    await s.post("/labs/2/fill");
    assert.match((await s.get("/labs/2")).text, /bytes of JSON, and it fits \(SQLite technique\)/);
  });

  it("logout clears the cookie, but a copy made before still works (the documented difference); no session list", async () => {
    const app = await shop();
    const c = app.client();
    const account = await register(c);
    await addToCart(c, 6, 1);
    const copy = c.cookies.get("shop_sid")!;
    await c.get("/");
    await c.post("/logout");
    assert.equal(c.cookies.has("shop_sid"), false);
    const thief = app.client();
    thief.cookies.set("shop_sid", copy);
    const page = await thief.get("/account/sessions");
    assert.match(page.text, new RegExp(`Signed in as <strong>${account.email}</strong>`));
    assert.match(page.text, /This shop is running the cookie technique/);
  });
});

/** Each cart line as "product:quantity:note", from the cart page. */
function cartState(html: string) {
  const lines = [...html.matchAll(/action="\/cart\/items\/(\d+)" class="qty-form">[\s\S]*?value="(\d+)" required>/g)].map((m) => `${m[1]}:${m[2]}`);
  const notes = new Map([...html.matchAll(/id="note-(\d+)" name="note"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  return lines.map((l) => `${l}:${notes.get(l.split(":")[0]!) ?? ""}`).join("\n");
}
