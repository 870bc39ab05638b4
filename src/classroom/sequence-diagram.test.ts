/**
 * The X-ray's sequence diagram through real HTTP: an SVG of the request before (the POST that
 * created the session) and of this one (the GET that read it), with the Cookie sent, the lookup
 * by hash, the write and the Set-Cookie, by fingerprint; no store lane for the cookie technique;
 * and nothing the visitor typed reaches the markup unescaped.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, startTestApp, type Client } from "../test/harness.ts";
import { fingerprint } from "../session/id.ts";
import { sequenceSteps } from "./sequence-diagram.ts";

const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function xrayClient(env: Record<string, string> = {}) {
  const app = await startTestApp(env);
  apps.push(app);
  const c = app.client();
  await c.get("/");
  await c.post("/xray", { on: "1", returnTo: "/" });
  return c;
}
const svgs = (html: string) => [...html.matchAll(/<svg class="sequence"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe("the X-ray's sequence diagram", () => {
  it("draws the POST that created the session and the GET that read it, store lane included, by fingerprint", async () => {
    const c: Client = await xrayClient();
    await addToCart(c, 1, 1);
    const fp = fingerprint(c.sessionKey()!);
    const [now, before] = svgs((await c.get("/cart")).text);
    assert.ok(before && now, "two pictures: the request before and this one");
    assert.deepEqual(texts(before).slice(0, 3), ["Browser", "Shop", "SQLite"]);
    assert.ok(texts(before).includes("POST /cart/items"), texts(before).join(" | "));
    assert.ok(texts(before).includes("no session cookie"));
    assert.ok(texts(before).includes(`create(‹${fp}›): new row`), texts(before).join(" | "));
    assert.ok(texts(before).includes(`Set-Cookie: shop_sid=s%3A‹ID ${fp}›.‹signature›`));
    assert.ok(texts(now).includes("GET /cart"));
    assert.ok(texts(now).includes(`Cookie: shop_sid=s%3A‹ID ${fp}›.‹signature›`));
    // This process signed that cookie and sealed that record a request ago: it says it remembered them.
    assert.ok(texts(now).includes("signature: ✓ remembered from before"), texts(now).join(" | "));
    assert.ok(!texts(now).includes("HMAC signature ✓"), "no HMAC was computed: the picture must not say so");
    assert.ok(texts(now).includes(`get(sha256(ID) = ‹${fp}›)`), "the store is still asked");
    assert.ok(texts(now).includes("sealed record"), "the store hands back a sealed record…");
    assert.ok(texts(now).includes("same text as before: 1 cart line from memory"), texts(now).join(" | "));
    assert.ok(texts(now).includes("no Set-Cookie"));
    assert.match(now, /role="img" aria-labelledby="seq-this-request"/);
    assert.doesNotMatch(now + before, new RegExp(c.sessionId()!), "never the raw ID");
  });

  it("draws no store for the cookie technique: the session is sealed into the cookie", async () => {
    const c = await xrayClient({ SESSION_STORE: "cookie" });
    await addToCart(c, 1, 1);
    const [now, before] = svgs((await c.get("/cart")).text);
    assert.deepEqual(texts(before!).slice(0, 2), ["Browser", "Shop"]);
    assert.ok(!texts(before!).includes("SQLite") && !texts(before!).some((t) => t.startsWith("get(")));
    assert.ok(texts(before!).includes("sealed into a new cookie"));
    assert.ok(texts(now!).includes("cookie: ✓ remembered from before"), "this process sealed that cookie itself");
  });

  it("draws each step as done when nothing was remembered (a process that never saw this cookie)", () => {
    const input = { technique: "sqlite" as const, method: "GET", path: "/cart", status: 200, cookieSent: "shop_sid=s%3A‹ID 1a2b3c4d›.‹signature›" };
    const done = sequenceSteps({
      ...input,
      events: ["loaded"],
      keyBefore: "1a2b3c4d",
      keyAfter: "1a2b3c4d",
      cookieSetName: null,
      cookieSet: null,
      cartLines: 2,
    });
    const said = done.map((s) => s.text);
    assert.ok(said.includes("HMAC signature ✓") && said.includes("opened: 2 cart lines"), said.join(" | "));
    const cookie = sequenceSteps({
      ...input,
      technique: "cookie",
      events: ["loaded"],
      keyBefore: null,
      keyAfter: null,
      cookieSetName: null,
      cookieSet: null,
      cartLines: 2,
    });
    assert.ok(cookie.some((s) => s.text === "AES-GCM tag ✓: opened"));
  });

  it("escapes the path and refuses a doctored picture cookie", async () => {
    const c = await xrayClient();
    const page = await c.get("/a&b'<c");
    assert.equal(page.status, 404);
    const [now] = svgs(page.text);
    assert.ok(now);
    assert.match(now, /GET \/a&amp;b'%3Cc</, "the path as sent, & escaped (the browser encodes <)");
    c.cookies.set(
      "shop_xray_last",
      Buffer.from(JSON.stringify({ method: "POST", path: "/", status: 303, events: [], setCookies: [], sequence: { events: "not a list" } })).toString(
        "base64url",
      ),
    );
    const next = await c.get("/");
    assert.equal(next.status, 200, "a doctored cookie is ignored, not a 500");
    assert.equal(svgs(next.text).length, 1);
  });
});
