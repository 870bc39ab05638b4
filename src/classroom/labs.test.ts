/**
 * The deliberately vulnerable lab modes do what labs 5, 6, 8 and 12 say, through real HTTP with an
 * attacker and a victim in separate cookie jars; and with each mode off, the same attack fails.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, Client, register } from "../test/harness.ts";
import { classroomShops, instructorOn, type TestApp } from "../test/classroom.ts";
import { hashSessionId, newSessionId } from "../session/id.ts";

type App = TestApp;
const shop = classroomShops({ CLASSROOM_VULNERABLE_LABS: "1" });

/** The instructor signs in and flips the switch on the lab's page, as in class. */
async function setModeOverHttp(app: App, mode: string, on: boolean, lab: number) {
  const teacher = await instructorOn(app, `/labs/${lab}`);
  const res = await teacher.post("/instructor/labs", { mode, ...(on ? { on: "1" } : {}), returnTo: `/labs/${lab}` });
  assert.equal(res.status, 303);
  assert.equal(res.location, `/labs/${lab}`);
  const home = (await app.client().get("/")).text;
  if (on) assert.match(home, /Deliberately vulnerable lab mode is ON/);
  else assert.doesNotMatch(home, /Deliberately vulnerable lab mode is ON/);
}

const signedInAs = (html: string, email: string) => html.includes(`Signed in as <strong>${email}</strong>`);
const badge = (html: string) => Number(/aria-label="Cart, (\d+) items?"/.exec(html)![1]);

describe("lab 5: session fixation", () => {
  it("vulnerable: a planted ?sid= rides the victim's login, so the attacker is signed in as the victim", async () => {
    const app = await shop();
    await setModeOverHttp(app, "fixation", true, 5);
    const attacker = app.client();
    const victim = app.client();

    // The attacker prepares the trap link on the lab page and opens it first.
    await attacker.get("/labs/5");
    const trapPage = await attacker.post("/labs/5/trap");
    assert.equal(trapPage.status, 200);
    const trap = /data-testid="trap-link">(\/\?sid=([A-Za-z0-9_-]{43}))</.exec(trapPage.text);
    assert.ok(trap, "the lab page shows a trap link");
    const plantedId = trap[2]!;
    await attacker.get(trap[1]!);
    assert.equal(attacker.sessionId(), plantedId, "the link planted the attacker's chosen ID");

    await victim.get(trap[1]!);
    assert.equal(victim.sessionId(), plantedId, "the victim now carries the attacker's ID");
    await addToCart(victim, 1, 2);
    const account = await register(victim);
    assert.equal(victim.sessionId(), plantedId, "the vulnerable shop kept the ID at login");
    assert.ok(signedInAs((await victim.get("/")).text, account.email));

    const seen = await attacker.get("/cart");
    assert.ok(signedInAs(seen.text, account.email), "the attacker shares the victim's account");
    assert.equal(badge(seen.text), 2, "and the victim's cart");
    assert.equal(app.sessionRows().length, 1);
    assert.equal(app.sessionRows()[0]!.id_hash, hashSessionId(plantedId));
  });

  it("fixed: ?sid= is ignored, login issues a new ID, and a pre-login ID signs nobody in", async () => {
    const app = await shop();
    assert.equal(app.classroom.labModes.fixation, false);
    const attacker = app.client();
    const victim = app.client();

    await attacker.get("/labs/5");
    await attacker.post("/labs/5/trap");
    assert.match((await attacker.get("/labs/5")).text, /The fixed shop ignores \?sid= in links/);
    const planted = newSessionId();
    await attacker.get(`/?sid=${planted}`);
    await victim.get(`/?sid=${planted}`);
    assert.equal(attacker.cookies.has("shop_sid"), false, "no cookie from a link");
    assert.equal(victim.cookies.has("shop_sid"), false);

    await addToCart(victim, 1, 2);
    const preLogin = victim.cookies.get("shop_sid")!;
    const account = await register(victim);
    assert.notEqual(victim.cookies.get("shop_sid"), preLogin, "the cookie changed at login");
    assert.notEqual(victim.sessionId(), planted);
    const victimPage = await victim.get("/cart");
    assert.ok(signedInAs(victimPage.text, account.email));
    assert.equal(badge(victimPage.text), 2, "the cart came along");

    // Even an attacker who somehow held the victim's pre-login cookie gets nothing.
    attacker.cookies.set("shop_sid", preLogin);
    const seen = await attacker.get("/cart");
    assert.equal(seen.status, 200);
    assert.ok(!signedInAs(seen.text, account.email));
    assert.match(seen.text, /href="\/login">Sign in</);
    assert.equal(badge(seen.text), 0);
    assert.equal(app.sessionRows().length, 1, "only the victim's new session");
    assert.notEqual(app.sessionRows()[0]!.id_hash, hashSessionId(planted));
  });
});

describe("lab 6: logout", () => {
  async function replayAfterLogout(app: App) {
    const victim = app.client();
    const account = await register(victim);
    await addToCart(victim, 3, 1);
    const copy = victim.cookies.get("shop_sid")!;
    await victim.get("/");
    assert.equal((await victim.post("/logout")).status, 303);
    assert.equal(victim.cookies.has("shop_sid"), false, "this browser forgot the cookie either way");
    assert.ok(!signedInAs((await victim.get("/")).text, account.email));
    const thief = app.client();
    thief.cookies.set("shop_sid", copy);
    return { account, page: await thief.get("/cart") };
  }

  it("vulnerable (cookie-only logout): a copy of the pre-logout cookie is still signed in", async () => {
    const app = await shop();
    await setModeOverHttp(app, "cookieOnlyLogout", true, 6);
    const { account, page } = await replayAfterLogout(app);
    assert.ok(signedInAs(page.text, account.email), "the session outlived the logout");
    assert.equal(badge(page.text), 1);
    assert.equal(app.sessionRows().length, 1, "the record is still on the server");
  });

  it("fixed: logout deletes the record, so the copied cookie is dead", async () => {
    const app = await shop();
    const { account, page } = await replayAfterLogout(app);
    assert.ok(!signedInAs(page.text, account.email));
    assert.match(page.text, /href="\/login">Sign in</);
    assert.equal(badge(page.text), 0);
    assert.equal(app.sessionRows().length, 0);
  });

  it("switching the mode back off restores the fix", async () => {
    const app = await shop();
    await setModeOverHttp(app, "cookieOnlyLogout", true, 6);
    await setModeOverHttp(app, "cookieOnlyLogout", false, 6);
    const { account, page } = await replayAfterLogout(app);
    assert.ok(!signedInAs(page.text, account.email));
  });
});

describe("lab 8: predictable IDs", () => {
  it("vulnerable: consecutive numbers in an unsigned cookie, and guessing one wears that cart", async () => {
    const app = await shop();
    app.classroom.setLabMode("sequentialIds", true);
    const first = app.client();
    const second = app.client();
    await addToCart(first, 1, 2);
    await addToCart(first, 4, 1);
    await addToCart(second, 2, 1);
    const a = first.cookies.get("shop_sid")!;
    const b = second.cookies.get("shop_sid")!;
    assert.match(a, /^\d+$/, "a bare number: no s: prefix, no signature");
    assert.equal(Number(b), Number(a) + 1, "the next visitor got the next number");

    const guesser = new Client(app.url);
    guesser.cookies.set("shop_sid", String(Number(b) - 1));
    assert.deepEqual(
      [...(await cartOf(guesser))],
      [
        [1, 2],
        [4, 1],
      ],
      "the guesser sees the first visitor's cart",
    );
  });

  it("fixed: IDs are 43 random characters, signed; a guessed number gets an empty cart", async () => {
    const app = await shop();
    const first = app.client();
    const second = app.client();
    await addToCart(first, 1, 2);
    await addToCart(second, 2, 1);
    for (const c of [first, second]) {
      assert.match(decodeURIComponent(c.cookies.get("shop_sid")!), /^s:[A-Za-z0-9_-]{43}\.[A-Za-z0-9+/]+$/);
    }
    assert.notEqual(first.sessionId(), second.sessionId());
    const guesser = new Client(app.url);
    guesser.cookies.set("shop_sid", "1001");
    assert.deepEqual([...(await cartOf(guesser))], []);
    assert.equal(guesser.cookies.has("shop_sid"), false, "the made-up cookie is cleared");
  });
});

describe("lab 12: the lost update", () => {
  /** One shopper's session, 1 jar in it, then `n` slow adds at once; returns how many jars end up in the cart. */
  async function fireAdds(app: App, n: number) {
    const shopper = app.client();
    await shopper.get("/labs/12");
    assert.equal((await shopper.post("/labs/12/reset")).status, 303);
    await shopper.get("/labs/12");
    const replies = await Promise.all(Array.from({ length: n }, () => shopper.post("/labs/12/add", {}, { accept: "application/json" })));
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(n).fill(200),
      "every add is acknowledged",
    );
    return (await cartOf(shopper)).get(12);
  }

  it("with the whole-session write-back on, simultaneous acknowledged adds are lost; with the atomic change, none", async () => {
    const app = await shop();
    await setModeOverHttp(app, "wholeWriteBack", true, 12);
    assert.equal(await fireAdds(app, 6), 2, "all six loaded the same cart (1 jar) and each wrote back 2");
    await setModeOverHttp(app, "wholeWriteBack", false, 12);
    assert.equal(await fireAdds(app, 6), 7, "1 + 6: each add changed the freshest row");
  });

  it("refuses the adds until there is a session to share, so they cannot each create their own", async () => {
    const app = await shop();
    const c = app.client();
    await c.get("/labs/12");
    const res = await c.post("/labs/12/add", {}, { accept: "application/json" });
    assert.equal(res.status, 409);
    assert.equal(c.cookies.has("shop_sid"), false);
  });
});
