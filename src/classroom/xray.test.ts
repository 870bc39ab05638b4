/**
 * The Session X-ray through real HTTP: off until a visitor asks for it, then a panel under every
 * page that says what the session layer did (and what the POST before the redirect did), shows
 * the fingerprint and the stored key but never the raw ID, and disappears with CLASSROOM=false.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { addToCart, register, startTestApp, type Client } from "../test/harness.ts";

const IDLE_SECONDS = 600;
const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
async function shop(env: Record<string, string> = {}) {
  const app = await startTestApp({ SESSION_IDLE_SECONDS: String(IDLE_SECONDS), SESSION_ABSOLUTE_SECONDS: "7200", ...env });
  apps.push(app);
  return app;
}

/** Switch the X-ray on as the footer button does. */
async function xrayOn(c: Client) {
  await c.get("/");
  const res = await c.post("/xray", { on: "1", returnTo: "/" });
  assert.equal(res.status, 303);
  assert.equal(res.location, "/");
  assert.equal(c.cookies.get("shop_xray"), "1");
}

/** The raw ID from the jar, by hand: the value is `s%3A<id>.<signature>`. */
function rawIdOf(c: Client) {
  const decoded = decodeURIComponent(c.cookies.get("shop_sid")!);
  assert.ok(decoded.startsWith("s:"));
  return decoded.slice(2, decoded.lastIndexOf("."));
}
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("session X-ray", () => {
  it("is off by default: no panel on any page, only the button to show it", async () => {
    const app = await shop();
    const c = app.client();
    for (const path of ["/", "/cart", "/products/ceramic-teapot", "/login"]) {
      const page = await c.get(path);
      assert.equal(page.status, 200, path);
      assert.doesNotMatch(page.text, /Session X-ray/, path);
      assert.match(page.text, /Show the session X-ray/, path);
    }
    await addToCart(c, 1, 1);
    assert.doesNotMatch((await c.get("/cart")).text, /Session X-ray|The request before/);
  });

  it("says in words which steps of this request were answered from this process's memory", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    await addToCart(c, 1, 1);
    const page = (await c.get("/cart")).text;
    assert.match(page, /Signature: checked at an earlier request and remembered\./);
    assert.match(page, /Record opened from this process&#39;s memory: the sealed text the store returned is exactly the one opened or written before/);
    // A visitor without a session: nothing was looked up, so nothing is said to be remembered.
    const other = app.client();
    await xrayOn(other);
    const first = (await other.get("/cart")).text;
    assert.doesNotMatch(first, /remembered|from this process/, "nothing remembered without a session");
  });

  it("when on, the first visit says there is no cookie and so no session yet", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    const page = await c.get("/");
    assert.match(page.text, /Session X-ray/);
    assert.match(page.text, /No cookie → no session yet\./);
    assert.match(page.text, /No session: nothing is stored for this browser\./);
    assert.match(page.text, /Hide the session X-ray/);
    assert.equal(app.sessionRows().length, 0, "looking does not create a session");
  });

  it("after an add, the next page explains the POST before the redirect and its Set-Cookie", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    await c.get("/");
    const add = await c.post("/cart/items", { productId: "1", quantity: "2", returnTo: "/cart" });
    assert.equal(add.status, 303);
    const page = await c.get("/cart");
    assert.match(page.text, /The request before: POST \/cart\/items → 303/);
    assert.match(page.text, /Created: the first thing to keep → a new random ID/);
    const fp = sha256(rawIdOf(c)).slice(0, 8);
    assert.match(page.text, new RegExp(`Set-Cookie: shop_sid=s%3A‹ID ${fp}›\\.‹signature›; Path=/; Expires=`));
    // Shown once: the page after that has no "request before".
    assert.doesNotMatch((await c.get("/cart")).text, /The request before/);
  });

  it("never prints the raw session ID, but shows its fingerprint and the full SHA-256 key (SQLite)", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    await addToCart(c, 3, 1);
    const id = rawIdOf(c);
    const key = sha256(id);
    assert.equal(app.sessionRows()[0]!.id_hash, key, "the key shown is the row's primary key");
    for (const path of ["/cart", "/", "/cart"]) {
      const page = await c.get(path);
      assert.ok(!page.text.includes(id), `${path} leaks the raw session ID`);
      assert.ok(!page.text.includes(encodeURIComponent(id)), `${path} leaks the raw session ID (encoded)`);
      assert.match(page.text, new RegExp(`ID \\(fingerprint\\)</dt><dd>${key.slice(0, 8)} — first 8 hex digits`));
      assert.match(page.text, new RegExp(`Primary key id_hash = sha256\\(ID\\): <code class="xray-key">${key}</code>`));
      assert.match(page.text, /Yes: the signature matches/);
    }
  });

  it("says a tampered cookie was rejected for its signature", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    await addToCart(c, 1, 1);
    const v = decodeURIComponent(c.cookies.get("shop_sid")!);
    const i = 5; // inside the ID
    c.cookies.set("shop_sid", encodeURIComponent(v.slice(0, i) + (v[i] === "A" ? "B" : "A") + v.slice(i + 1)));
    const page = await c.get("/cart");
    assert.match(page.text, /Rejected: bad signature\./);
    assert.match(page.text, /No — rejected/);
    assert.equal(Number(/aria-label="Cart, (\d+) items?"/.exec(page.text)![1]), 0);
  });

  it("says the session expired for being idle once the idle timeout has passed", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    await addToCart(c, 1, 1);
    await c.get("/cart");
    app.clock.advance(IDLE_SECONDS * 1000 + 1000);
    const page = await c.get("/cart");
    assert.match(page.text, /Expired: idle\. No request for 10 min, so the session ended and its record was deleted\./);
    assert.equal(app.sessionRows().length, 0);
  });

  it("shows the new ID at login and the deleted record at logout", async () => {
    const app = await shop();
    const c = app.client();
    const account = await register(c);
    await c.get("/");
    await c.post("/logout");
    await xrayOn(c);
    await addToCart(c, 2, 1);
    const before = rawIdOf(c);
    await c.get("/login");
    const login = await c.post("/login", { email: account.email, password: account.password });
    assert.equal(login.status, 303);
    const afterLogin = await c.get("/");
    assert.match(afterLogin.text, /The request before: POST \/login → 303/);
    assert.match(afterLogin.text, /Regenerated at login: old ID deleted, a new ID issued, cart kept\./);
    assert.match(afterLogin.text, /signed in \(user #\d+\)/);
    assert.notEqual(rawIdOf(c), before, "a new ID at login");

    const logout = await c.post("/logout");
    assert.equal(logout.status, 303);
    const afterLogout = await c.get("/");
    assert.match(afterLogout.text, /The request before: POST \/logout → 303/);
    assert.match(afterLogout.text, /Destroyed at logout: record deleted and cookie cleared\./);
    assert.equal(app.sessionRows().length, 0);
  });

  it("prints hostile text from the request before (path, cookie, user agent, a forged summary) escaped in its diagram", async () => {
    const app = await shop();
    const c = app.client();
    await xrayOn(c);
    const evil = `"'><script>alert(1)</script>]]><!--`;
    /** The hostile text may appear only escaped: no tag, no CDATA end, no comment, no quote out of place. */
    const assertEscaped = (html: string, label: string) => {
      const diagrams = [...html.matchAll(/<figure class="sequence-figure">([\s\S]*?)<\/figure>/g)].map((m) => m[1]!);
      assert.equal(diagrams.length, 2, `${label}: this request's diagram and the one before`);
      for (const svg of diagrams) {
        assert.doesNotMatch(svg, /<script|]]>|<!--|alert\(1\)<|"'>/, label);
        // Every tag in the drawing is one of the diagram's own.
        for (const [, tag] of svg.matchAll(/<\/?([a-zA-Z]+)/g))
          assert.ok(["svg", "title", "defs", "marker", "path", "line", "rect", "text"].includes(tag!), `${label}: <${tag}>`);
      }
      assert.match(diagrams.join(""), /&quot;'&gt;&lt;script&gt;alert\(1\)/, `${label}: the text is there, escaped`);
      assert.doesNotMatch(html, /<script>alert/, label);
    };

    // 1. A real POST whose path, session cookie and user agent carry the hostile text. Node's client,
    // given the path on its own, sends < > " ' as they are (a URL would percent-encode them).
    const posted = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(app.url);
      const req = http.request({
        hostname,
        port,
        path: `/cart/items/${evil}`,
        method: "POST",
        headers: {
          cookie: `${c.cookieHeader()}; shop_sid=${evil}`,
          "user-agent": `Mozilla/5.0 ${evil}`,
          "content-type": "application/x-www-form-urlencoded",
        },
      });
      req.on("response", (res) => {
        for (const line of res.headers["set-cookie"] ?? []) {
          const [pair = ""] = line.split(";");
          const eq = pair.indexOf("=");
          if (pair.startsWith("shop_xray_last=")) c.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("quantity=1");
    });
    assert.ok(posted >= 400 && posted < 500, `a friendly refusal, not a 5xx (${posted})`);
    assert.ok(c.cookies.has("shop_xray_last"), "the X-ray remembered that request");
    const page = await c.get("/", { cookie: `${c.cookieHeader()}; shop_sid=${evil}`, "user-agent": `Mozilla/5.0 ${evil}` });
    assert.equal(page.status, 200);
    assert.match(page.text, /The request before: POST/);
    assertEscaped(page.text, "a real request");

    // 2. The summary comes back from a cookie the browser can change: a forged one, every field hostile.
    const forged = {
      method: evil,
      path: evil,
      status: 200,
      events: [evil, "created"],
      setCookies: [evil],
      sequence: {
        method: evil,
        path: evil,
        status: 200,
        cookieSent: evil,
        events: ["created", evil],
        keyBefore: evil,
        keyAfter: evil,
        cookieSetName: evil,
        cookieSet: evil,
        cartLines: 1,
      },
    };
    c.cookies.set("shop_xray_last", Buffer.from(JSON.stringify(forged)).toString("base64url"));
    const forgedPage = await c.get("/");
    assert.equal(forgedPage.status, 200);
    assertEscaped(forgedPage.text, "a forged summary");
  });

  it("does not exist with CLASSROOM=false: /xray and /labs are 404 and no X-ray button or panel", async () => {
    const app = await shop({ CLASSROOM: "false" });
    const c = app.client();
    const home = await c.get("/");
    assert.doesNotMatch(home.text, /X-ray/i);
    assert.doesNotMatch(home.text, /action="\/xray"/);
    assert.equal((await c.post("/xray", { on: "1", returnTo: "/" })).status, 404);
    assert.equal(c.cookies.has("shop_xray"), false);
    assert.equal((await c.get("/labs")).status, 404);
    assert.equal((await c.get("/labs/1")).status, 404);
    // Even a hand-made switch cookie shows nothing.
    c.cookies.set("shop_xray", "1");
    await addToCart(c, 1, 1);
    assert.doesNotMatch((await c.get("/cart")).text, /Session X-ray|The request before/);
  });
});
