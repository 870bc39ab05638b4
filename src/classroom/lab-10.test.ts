/**
 * Lab 10 over real HTTP: the "CSRF checks off" switch and the session cookie's SameSite switches
 * do what the lab says, only where the lab says (never the instructor's forms, never without
 * CLASSROOM_VULNERABLE_LABS), and the attacker site serves plain forms aimed at the shop.
 * A cross-site form is what a browser sends for one: Sec-Fetch-Site: cross-site, a foreign Origin,
 * and no token. (Whether the browser attaches the cookie is SameSite's business: the Playwright spec
 * checks that in Chromium; here the client sends it, as a browser does for SameSite=None.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, readConfig } from "../config.ts";
import { cartOf, type Client, root } from "../test/harness.ts";
import { classroomShops, instructorOn, type TestApp } from "../test/classroom.ts";
import { createAttackerSite } from "./attacker-site.ts";

type App = TestApp;
const shop = classroomShops({ CLASSROOM_VULNERABLE_LABS: "1" });
const instructor = (app: App) => instructorOn(app, "/labs/10");

async function setMode(teacher: Client, mode: string, on: boolean) {
  const res = await teacher.post("/instructor/labs", { mode, ...(on ? { on: "1" } : {}), returnTo: "/labs/10" });
  assert.equal(res.status, 303, `switching ${mode}`);
}

/** The victim: one mug in the cart, through the lab's own button. */
async function victim(app: App) {
  const v = app.client();
  await v.get("/labs/10");
  const res = await v.post("/labs/10/start");
  assert.equal(res.status, 303);
  assert.equal(res.location, "/labs/10");
  assert.deepEqual([...(await cartOf(v))], [[5, 1]]);
  return { client: v, setCookie: res.setCookies.find((l) => l.startsWith("shop_sid="))! };
}

/** What the attacker's form makes the browser send: the victim's cookie (SameSite=None), a foreign origin, no token. */
const forged = (v: Client, path: string, form: Record<string, string>) =>
  v.request("POST", path, { form, headers: { origin: "http://127.0.0.1:4299", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" } });

describe("lab 10: CSRF checks off", () => {
  it("refuses a cross-site form with the checks on (403), and accepts it into the victim's cart with them off", async () => {
    const app = await shop();
    const { client: v } = await victim(app);
    const gift = { productId: "9", quantity: "1", returnTo: "/cart" };

    assert.equal((await forged(v, "/cart/items", gift)).status, 403);
    assert.deepEqual([...(await cartOf(v))], [[5, 1]], "nothing changed");

    const teacher = await instructor(app);
    await setMode(teacher, "csrfChecksOff", true);
    assert.match((await app.client().get("/")).text, /CSRF checks off: the shop accepts forms posted from other sites/, "the red banner names it");
    const res = await forged(v, "/cart/items", gift);
    assert.equal(res.status, 303);
    assert.equal(res.location, "/cart");
    assert.deepEqual([...(await cartOf(v))].sort(), [
      [5, 1],
      [9, 1],
    ]);

    // Bad input is still bad input: a friendly 400, not a 5xx.
    assert.equal((await forged(v, "/cart/items", { productId: "nine" })).status, 400);
    // And the forged sign-out works too: the victim's session is gone.
    assert.equal((await forged(v, "/logout", {})).status, 303);
    assert.equal(app.sessionRows().length, 0);

    await setMode(teacher, "csrfChecksOff", false);
    const w = (await victim(app)).client;
    assert.equal((await forged(w, "/cart/items", gift)).status, 403, "back on: refused again");
  });

  it("keeps the instructor's forms protected while the shop's checks are off", async () => {
    const app = await shop();
    const teacher = await instructor(app);
    await setMode(teacher, "csrfChecksOff", true);
    const res = await teacher.request("POST", "/instructor/labs", {
      form: { mode: "fixation", on: "1" },
      headers: { origin: "http://127.0.0.1:4299", "sec-fetch-site": "cross-site" },
    });
    assert.equal(res.status, 403);
    assert.equal(app.classroom.labModes.fixation, false);
  });

  it("cannot be switched on without CLASSROOM_VULNERABLE_LABS, and then the checks are the honest ones", async () => {
    const app = await shop({});
    const teacher = await instructor(app);
    const res = await teacher.post("/instructor/labs", { mode: "csrfChecksOff", on: "1", returnTo: "/labs/10" });
    assert.equal(res.status, 403);
    assert.equal(app.classroom.labModes.csrfChecksOff, false);
    const { client: v } = await victim(app);
    assert.equal((await forged(v, "/cart/items", { productId: "9" })).status, 403);
  });

  it("refuses the lab's own button without its token, like every form of the shop", async () => {
    const app = await shop();
    const { client: v } = await victim(app);
    v.csrf = "";
    assert.equal((await v.post("/labs/10/start")).status, 403);
    assert.equal((await app.client().post("/instructor/labs", { mode: "csrfChecksOff ", on: "1" })).status, 303, "no pass: to the sign-in page");
    const teacher = await instructor(app);
    assert.equal((await teacher.post("/instructor/labs", { mode: "csrfChecksOff ", on: "1" })).status, 400, "an unknown mode is a 400");
  });
});

describe("lab 10: the session cookie's SameSite", () => {
  it("is Lax by default, None with Secure or Strict when switched, and the two switches exclude each other", async () => {
    const app = await shop();
    assert.match((await victim(app)).setCookie, /; SameSite=Lax$/);
    assert.doesNotMatch((await victim(app)).setCookie, /Secure/);

    const teacher = await instructor(app);
    await setMode(teacher, "sameSiteNone", true);
    assert.match((await victim(app)).setCookie, /; Secure; SameSite=None$/);

    await setMode(teacher, "sameSiteStrict", true);
    assert.equal(app.classroom.labModes.sameSiteNone, false, "Strict switched None off");
    const strict = (await victim(app)).setCookie;
    assert.match(strict, /; SameSite=Strict$/);
    assert.doesNotMatch(strict, /Secure/);
    const page = (await app.client().get("/labs/10")).text;
    assert.match(page, /the session cookie goes out with SameSite=Strict, and the CSRF checks are on\./);
  });

  it("reaches a cookie already in the browser: sent again, same ID, at its next request after a switch, and only then", async () => {
    const app = await shop();
    const { client: v } = await victim(app);
    const id = v.sessionId();
    const teacher = await instructor(app);

    await setMode(teacher, "sameSiteNone", true);
    const first = await v.get("/labs/10");
    const resent = first.setCookies.find((l) => l.startsWith("shop_sid="));
    assert.match(resent ?? "", /; Secure; SameSite=None$/);
    assert.equal(v.sessionId(), id, "the same session: only the attributes changed");
    assert.equal((await v.get("/labs/10")).setCookies.filter((l) => l.startsWith("shop_sid=")).length, 0, "once is enough");

    await setMode(teacher, "sameSiteNone", false);
    assert.match((await v.get("/")).setCookies.find((l) => l.startsWith("shop_sid=")) ?? "", /; SameSite=Lax$/, "and back to Lax");
    assert.equal(v.sessionId(), id);
    assert.deepEqual([...(await cartOf(v))], [[5, 1]]);
  });
});

/** GET / with a Host header of our choosing (fetch may not set Host). */
function getAs(base: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}/`, { headers: { host } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

describe("lab 10: the attacker site", () => {
  it("serves a prize page of plain forms posting to the shop, no script, a policy that allows nothing else, and 404 elsewhere", async () => {
    const server = createAttackerSite({ root, shopOrigin: "http://localhost:4242" }).listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/`);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /<form method="post" action="http:\/\/localhost:4242\/cart\/items">/);
      assert.match(html, /<input type="hidden" name="productId" value="9">/);
      assert.match(html, /<form method="post" action="http:\/\/localhost:4242\/logout">/);
      assert.match(html, /<a href="http:\/\/localhost:4242\/cart">See your cart at Stateful Shop<\/a>/);
      assert.match(html, /another site than the shop: another host name/);
      assert.doesNotMatch(html, /<script/);
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'; .*form-action http:\/\/localhost:4242;/);

      const sameSite = await getAs(base, "localhost:4243");
      assert.match(sameSite, /the same site as the shop: only the port differs/);
      const odd = await getAs(base, "<b>x</b>");
      assert.doesNotMatch(odd, /<b>x<\/b>/, "the Host header is never echoed as HTML");

      assert.equal((await fetch(`${base}/prize.css`)).status, 200);
      assert.equal((await fetch(`${base}/cart/items`, { method: "POST" })).status, 404);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("needs the vulnerable labs and its own port", () => {
    const base = { SESSION_SECRETS: "x".repeat(32) };
    assert.equal(readConfig({ ...base, CLASSROOM_VULNERABLE_LABS: "1", CLASSROOM_ATTACKER_PORT: "3010" }, "/app").attackerPort, 3010);
    assert.equal(readConfig(base, "/app").attackerPort, null);
    assert.throws(
      () => readConfig({ ...base, CLASSROOM_ATTACKER_PORT: "3010" }, "/app"),
      (e: Error) => e instanceof ConfigError && /needs CLASSROOM_VULNERABLE_LABS=1/.test(e.message),
    );
    assert.throws(
      () => readConfig({ ...base, CLASSROOM_VULNERABLE_LABS: "1", PORT: "3010", CLASSROOM_ATTACKER_PORT: "3010" }, "/app"),
      /must differ from PORT/,
    );
    assert.throws(
      () => readConfig({ ...base, CLASSROOM_VULNERABLE_LABS: "1", CLASSROOM_ATTACKER_PORT: "http" }, "/app"),
      /CLASSROOM_ATTACKER_PORT must be a whole number/,
    );
    assert.throws(
      () => readConfig({ ...base, NODE_ENV: "production", CLASSROOM_VULNERABLE_LABS: "1", CLASSROOM_ATTACKER_PORT: "3010" }, "/app"),
      /cannot be enabled in production/,
    );
  });
});
