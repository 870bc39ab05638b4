/**
 * Hostile and broken cookies: each gets a fresh anonymous session (or a quick 4xx), never a 5xx, never
 * someone else's cart, never a row in the store. One body for every server-side technique
 * (src/test/techniques.ts), and twice on each: as the shop runs (the remembered cookie,
 * speed/remembered-cookie.ts), and with the lesson's cookie.ts alone (cookie-parser on every request,
 * nothing remembered). Run by src/session/cookie-attacks.test.ts (SQLite, memory) and
 * src/session/postgres-technique.test.ts (PostgreSQL).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { sign, unsign } from "cookie-signature";
import type { Speedups } from "../session/technique.ts";
import { addToCart, Client, SECRET_A, SECRET_B } from "./harness.ts";
import { restartTechniqueShop, type ServerTechnique, startTechniqueApp, type TechniqueApp } from "./techniques.ts";

/** Send a raw request over a socket: HTTP clients refuse to send some of these headers at all. */
function rawGet(app: { url: string }, path: string, cookieHeader: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(app.url);
    const socket = net.connect(Number(port), "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookieHeader}\r\nConnection: close\r\n\r\n`, "latin1");
    });
    let raw = "";
    socket.on("data", (d) => (raw += d.toString("utf8")));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
      resolve({ status, body: raw.slice(raw.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
  });
}

const variants: [string, Partial<Speedups>][] = [
  ["as the shop runs", {}],
  ["cookie.ts alone: cookie-parser, nothing remembered", { rememberedCookie: false, lazyCookies: false, rememberedSeals: false }],
];

export function cookieAttacksSuite(technique: ServerTechnique) {
  for (const [variant, speedups] of variants)
    describe(`hostile cookies (${technique}, ${variant})`, () => {
      let app: TechniqueApp;
      let victim: Client;
      before(async () => {
        app = await startTechniqueApp(technique, {}, { speedups });
        victim = app.client();
        await addToCart(victim, 1, 3);
      });
      after(() => app.close());

      const victimCookie = () => victim.cookies.get("shop_sid")!;
      const cases: [string, () => string][] = [
        ["control characters", () => "shop_sid=abc\u0001\u0002def"],
        ["percent garbage", () => "shop_sid=%%%%%ZZ%E0%A4"],
        ["a JSON-looking value", () => "shop_sid=j%3A%7B%22cart%22%3A%5B%5D%7D"],
        ["a JSON-looking signed-prefix value", () => "s%3Aj%3A%7B%7D"],
        ["an empty value", () => "shop_sid="],
        ["the victim's ID, unsigned", () => `shop_sid=${victim.sessionId()}`],
        [
          "a duplicate name: attacker's value first",
          () => `shop_sid=${encodeURIComponent(`s:${sign("A".repeat(43), "wrong-secret-wrong-secret-wrong-secret")}`)}; shop_sid=${victimCookie()}`,
        ],
        ["a prototype-pollution name", () => `__proto__=x; constructor=y; shop_sid=zzz`],
        ["a 4 KB value", () => `shop_sid=${"A".repeat(4096)}`],
        ["many cookies", () => Array.from({ length: 300 }, (_, i) => `c${i}=${i}`).join("; ")],
      ];
      for (const [name, header] of cases) {
        it(`${name}: a fresh empty session, not a 5xx`, async () => {
          const value = header();
          const res = await rawGet(app, "/cart", value.includes("=") ? value : `shop_sid=${value}`);
          assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}`);
          if (res.status === 200) assert.equal(Client.badge(res.body), 0);
        });
      }

      it("a huge Cookie header is refused quickly with 431", async () => {
        const res = await rawGet(app, "/", `shop_sid=${"A".repeat(20_000)}`);
        assert.equal(res.status, 431);
      });

      it("the victim's cart is untouched by all of it, and no other row was made", async () => {
        assert.equal(Client.badge((await victim.get("/cart")).text), 3);
        assert.deepEqual(
          (await app.rows()).map((r) => r.id_hash),
          [victim.sessionKey()],
        );
      });
    });

  describe(`secret rotation (${technique})`, () => {
    it("a new first secret keeps existing sessions valid and re-signs their cookie at the next touch", async () => {
      const first = await startTechniqueApp(technique, { SESSION_SECRETS: SECRET_A });
      const c = first.client();
      await addToCart(c, 1, 2);
      const { shop: rotated, moved } = await restartTechniqueShop(first, c, { SESSION_SECRETS: `${SECRET_B},${SECRET_A}` }, first.config.touchIntervalMs);
      try {
        const res = await moved.get("/cart");
        assert.equal(Client.badge(res.text), 2, "still valid under the old secret");
        const value = decodeURIComponent(moved.cookies.get("shop_sid")!).slice(2);
        assert.equal(unsign(value, SECRET_B), c.sessionId(), "re-signed with the new first secret, same ID");
        assert.equal(unsign(value, SECRET_A), false);
      } finally {
        await first.close();
        await rotated.close();
      }
    });
  });
}
