/**
 * The session lifecycle through real HTTP, one body for every server-side technique
 * (src/test/techniques.ts): a real server on an ephemeral port, a real store, cookies carried by
 * hand, and a manual clock so expiry takes no waiting. What the store keeps is read past the session
 * layer (the table's rows; the memory store's records). Run by src/session/session-lifecycle.test.ts
 * (SQLite, memory) and src/session/postgres-technique.test.ts (PostgreSQL).
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sign } from "cookie-signature";
import { hashSessionId, newSessionId } from "../session/id.ts";
import { sealFor } from "../session/seal.ts";
import { addToCart, cartOf, Client, register, SECRET_A, SECRET_B } from "./harness.ts";
import { restartTechniqueShop, type ServerTechnique, startTechniqueApp, type TechniqueApp } from "./techniques.ts";

const MINUTE = 60_000;

export function sessionLifecycleSuite(technique: ServerTechnique) {
  describe(`${technique} technique`, () => {
    let app: TechniqueApp;
    beforeEach(async () => {
      app = await startTechniqueApp(technique, { SESSION_IDLE_SECONDS: "1800", SESSION_ABSOLUTE_SECONDS: "7200" });
    });
    afterEach(() => app.close());

    describe("lazy creation", () => {
      it("browsing sets no cookie and stores no row", async () => {
        const c = app.client();
        for (const path of ["/", "/categories/kitchen", "/products/ceramic-teapot", "/cart", "/?q=tea", "/login"]) {
          const res = await c.get(path);
          assert.equal(res.status, 200, path);
          assert.ok(!res.setCookies.some((s) => s.startsWith("shop_sid=")), `${path} set a session cookie`);
        }
        assert.equal((await app.rows()).length, 0);
      });

      it("the first add to cart creates the row and a signed, HttpOnly, SameSite=Lax cookie", async () => {
        const c = app.client();
        const res = await addToCart(c, 1, 2);
        assert.equal(res.status, 303);
        const cookie = res.setCookies.find((s) => s.startsWith("shop_sid="));
        assert.ok(cookie);
        assert.match(cookie, /; Path=\/;/);
        assert.match(cookie, /; HttpOnly/);
        assert.match(cookie, /; SameSite=Lax/);
        assert.doesNotMatch(cookie, /Domain=/i);
        assert.doesNotMatch(cookie, /Secure/, "plain HTTP in tests: no Secure flag");
        assert.match(decodeURIComponent(c.cookies.get("shop_sid")!), /^s:[A-Za-z0-9_-]{43}\.[A-Za-z0-9+/]+$/);
        const rows = await app.rows();
        assert.equal(rows.length, 1);
        const stored = JSON.parse(rows[0]!.data);
        assert.match(stored.sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/, "the data column holds a sealed blob, not the cart");
        assert.deepEqual(sealFor(c.sessionId()!, rows[0]!.id_hash).open(stored), { cart: [{ productId: 1, quantity: 2 }] }, "the cookie's ID opens it");
        assert.equal(rows[0]!.user_id, null);
      });

      it("keys the row by the SHA-256 of the ID: the ID itself is nowhere in the table", async () => {
        const c = app.client();
        await addToCart(c, 1);
        const id = c.sessionId()!;
        const [row] = await app.rows();
        assert.equal(row!.id_hash, hashSessionId(id));
        assert.ok(!JSON.stringify(await app.rows()).includes(id));
      });

      it("uses Secure and the __Host- prefix when configured for HTTPS", async () => {
        const secure = await startTechniqueApp(technique, { COOKIE_SECURE: "true" });
        try {
          const res = await addToCart(secure.client(), 1);
          const cookie = res.setCookies.find((s) => s.startsWith("__Host-shop_sid="));
          assert.ok(cookie, res.setCookies.join("\n"));
          assert.match(cookie, /; Secure/);
          assert.match(cookie, /; Path=\/;/);
        } finally {
          await secure.close();
        }
      });
    });

    describe("cookie signature", () => {
      it("a tampered value gets a fresh empty session and the cookie is cleared", async () => {
        const c = app.client();
        await addToCart(c, 1, 3);
        const decoded = decodeURIComponent(c.cookies.get("shop_sid")!);
        const flipped = decoded.slice(0, 5) + (decoded[5] === "A" ? "B" : "A") + decoded.slice(6);
        c.cookies.set("shop_sid", encodeURIComponent(flipped));
        const res = await c.get("/cart");
        assert.equal(Client.badge(res.text), 0);
        assert.ok(res.setCookies.some((s) => s.startsWith("shop_sid=;") && /Expires=Thu, 01 Jan 1970/.test(s)));
      });

      it("a tampered signature, an unsigned value, a wrong secret and garbage are all 'no session'", async () => {
        const victim = app.client();
        await addToCart(victim, 1, 3);
        const id = victim.sessionId()!;
        const forged = [
          encodeURIComponent(`s:${id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`), // tampered signature
          id, // unsigned: the raw ID alone
          encodeURIComponent(`s:${id}`), // signed prefix, no signature
          encodeURIComponent(`s:${sign(id, "some-other-secret-0123456789abcdefghij")}`), // wrong secret
          encodeURIComponent(`j:{"cart":[{"productId":1,"quantity":9}]}`), // JSON-looking
          "%E0%A4%A", // broken percent-encoding
          "x".repeat(3000),
        ];
        for (const value of forged) {
          const attacker = new Client(app.url);
          attacker.cookies.set("shop_sid", value);
          const res = await attacker.get("/cart");
          assert.equal(res.status, 200, value);
          assert.equal(Client.badge(res.text), 0, `cookie ${value.slice(0, 40)} reached a cart`);
        }
        assert.equal((await app.rows()).length, 1, "no row made for any of them");
        assert.equal(Client.badge((await victim.get("/cart")).text), 3, "the victim's cart is untouched");
      });

      it("a correctly signed but never-issued ID is not adopted", async () => {
        const planted = newSessionId();
        const c = new Client(app.url);
        c.cookies.set("shop_sid", encodeURIComponent(`s:${sign(planted, SECRET_A)}`));
        await c.get("/");
        await addToCart(c, 2);
        assert.notEqual(c.sessionId(), planted, "a new ID was issued instead");
        assert.equal((await app.rows()).filter((r) => r.id_hash === hashSessionId(planted)).length, 0);
      });

      it("cookies signed with an older secret still verify after a new secret is put first", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        const { shop: rotated, moved } = await restartTechniqueShop(app, c, { SESSION_SECRETS: `${SECRET_B},${SECRET_A}` });
        try {
          assert.equal(Client.badge((await moved.get("/cart")).text), 2);
        } finally {
          await rotated.close();
        }
      });
    });

    describe("login and logout", () => {
      it("registering regenerates the ID, keeps the cart, and kills the old ID everywhere", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        await addToCart(c, 3, 1);
        const before = c.cookies.get("shop_sid")!;
        const oldKey = c.sessionKey()!;
        await register(c);
        const after = c.cookies.get("shop_sid")!;
        assert.notEqual(after, before);
        assert.deepEqual(
          [...(await cartOf(c))],
          [
            [1, 2],
            [3, 1],
          ],
        );
        const rows = await app.rows();
        assert.equal(rows.length, 1);
        assert.notEqual(rows[0]!.id_hash, oldKey);
        assert.equal(rows[0]!.id_hash, c.sessionKey(), "the one row is the new cookie's");
        assert.equal(typeof rows[0]!.user_id, "number");
        // The pre-login cookie value is worthless now.
        const replay = new Client(app.url);
        replay.cookies.set("shop_sid", before);
        const res = await replay.get("/cart");
        assert.equal(Client.badge(res.text), 0);
        assert.doesNotMatch(res.text, /Signed in as/);
      });

      it("logging in regenerates the ID and keeps the guest cart; a wrong password says nothing specific", async () => {
        const c = app.client();
        const { email, password } = await register(c);
        await c.post("/logout");
        await addToCart(c, 5, 2);
        const guestCookie = c.cookies.get("shop_sid")!;
        await c.get("/login");
        const wrong = await c.post("/login", { email, password: "not the password" });
        const unknown = await c.post("/login", { email: "nobody@example.com", password: "not the password" });
        assert.equal(wrong.status, 401);
        assert.equal(unknown.status, 401);
        const message = (html: string) => /<p class="form-error"[^>]*>([^<]*)</.exec(html)?.[1];
        assert.equal(message(wrong.text), message(unknown.text));
        assert.equal(c.cookies.get("shop_sid"), guestCookie, "a failed login changes nothing");
        const ok = await c.post("/login", { email, password, next: "/cart" });
        assert.equal(ok.status, 303);
        assert.equal(ok.location, "/cart");
        assert.notEqual(c.cookies.get("shop_sid"), guestCookie);
        const cart = await c.get("/cart");
        assert.match(cart.text, /Signed in as/);
        assert.deepEqual([...(await cartOf(c))], [[5, 2]]);
      });

      it("logout deletes the row and clears the cookie; the old value then gets nothing", async () => {
        const c = app.client();
        await register(c);
        await addToCart(c, 1, 1);
        const before = c.cookies.get("shop_sid")!;
        await c.get("/");
        const res = await c.post("/logout");
        assert.equal(res.status, 303);
        const cleared = res.setCookies.find((s) => s.startsWith("shop_sid="));
        assert.match(cleared!, /^shop_sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
        assert.equal(c.cookies.has("shop_sid"), false);
        assert.equal((await app.rows()).length, 0);
        const replay = new Client(app.url);
        replay.cookies.set("shop_sid", before);
        const page = await replay.get("/cart");
        assert.equal(Client.badge(page.text), 0);
        assert.doesNotMatch(page.text, /Signed in as/);
        assert.equal((await app.rows()).length, 0, "and no row came back");
      });

      it("logout is a POST: GET /logout changes nothing", async () => {
        const c = app.client();
        await register(c);
        const res = await c.get("/logout");
        assert.equal(res.status, 404);
        assert.equal((await app.rows()).length, 1);
      });
    });

    describe("expiry", () => {
      it("an idle session expires after the idle timeout; the row is deleted", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        app.clock.advance(29 * MINUTE);
        assert.equal(Client.badge((await c.get("/cart")).text), 2, "29 idle minutes: still there");
        app.clock.advance(29 * MINUTE); // the visit above slid the idle window forward
        assert.equal(Client.badge((await c.get("/cart")).text), 2, "activity slides the idle timeout");
        app.clock.advance(31 * MINUTE);
        const res = await c.get("/cart");
        assert.equal(Client.badge(res.text), 0, "31 idle minutes: gone");
        assert.equal((await app.rows()).length, 0, "the expired row is deleted when its cookie comes back");
      });

      it("a busy session still ends at the absolute timeout", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        for (let minute = 10; minute <= 110; minute += 10) {
          app.clock.advance(10 * MINUTE);
          assert.equal(Client.badge((await c.get("/cart")).text), 2, `active at minute ${minute}`);
        }
        app.clock.advance(15 * MINUTE); // 125 minutes after creation, never idle: absolute (120 min) wins
        assert.equal(Client.badge((await c.get("/cart")).text), 0);
        assert.equal((await app.rows()).length, 0, "the expired row is deleted when its cookie comes back");
      });

      it("shortening the idle timeout applies to existing sessions at once", async () => {
        const c = app.client();
        await addToCart(c, 1, 2);
        const { shop: shorter, moved } = await restartTechniqueShop(app, c, { SESSION_IDLE_SECONDS: "60" }, 2 * MINUTE);
        try {
          assert.equal(Client.badge((await moved.get("/cart")).text), 0);
        } finally {
          await shorter.close();
        }
      });
    });

    describe("throttled touch", () => {
      it("page views write last-seen at most once per touch interval", async () => {
        const c = app.client();
        await addToCart(c, 1, 1);
        const seen = async () => (await app.rows())[0]!.last_seen_at;
        const created = await seen();
        const interval = app.config.touchIntervalMs; // 60 s with a 30 min idle timeout
        for (let i = 0; i < 5; i++) {
          app.clock.advance(interval / 10);
          const res = await c.get("/");
          assert.ok(!res.setCookies.some((s) => s.startsWith("shop_sid=")), "no cookie re-sent without a touch");
        }
        assert.equal(await seen(), created, "five quick views: no write");
        app.clock.advance(interval);
        const res = await c.get("/");
        assert.equal(await seen(), app.clock.now(), "after the interval one view writes");
        assert.ok(
          res.setCookies.some((s) => s.startsWith("shop_sid=")),
          "and re-sends the cookie with the new expiry",
        );
        const row = (await app.rows())[0]!;
        assert.equal(row.expires_at, row.last_seen_at + app.config.idleTimeoutMs);
      });
    });
  });
}
