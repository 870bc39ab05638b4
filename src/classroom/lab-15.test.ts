/**
 * Lab 15 through real HTTP: the instructor's "as a thief sees it" table shows hashed keys and sealed
 * blobs and none of the carts, this browser's own record opens with its cookie, a key from the table
 * sent back as the session cookie (signed with the shop's own secret) is refused, and bad input is a
 * friendly 400, never a 5xx.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, cartOf, type Client } from "../test/harness.ts";
import { classroomShops, instructorOn, type TestApp } from "../test/classroom.ts";

const NOTE = "For Grace Hopper, happy birthday";
type App = TestApp;
const shop = classroomShops();
const instructor = (app: App) => instructorOn(app, "/labs/15");
async function shopperWithNote(app: App) {
  const c = app.client();
  await addToCart(c, 3, 2);
  await c.get("/cart");
  assert.equal((await c.post("/cart/items/3/note", { note: NOTE, returnTo: "/cart" })).status, 303);
  return c;
}
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

describe("lab 15: what a stolen database gives away", () => {
  it("the instructor sees every record as stored: hashed keys, sealed blobs, no cart, no note", async () => {
    const app = await shop();
    const shopper = await shopperWithNote(app);
    const teacher = await instructor(app);
    await addToCart(teacher, 1, 1);
    const page = await teacher.get("/labs/15");
    assert.equal(page.status, 200);
    const table = /<table[^>]*data-testid="thief-table">([\s\S]*?)<\/table>/.exec(page.text)?.[1];
    assert.ok(table, "the thief's table is shown to the instructor");
    assert.ok(table.includes(shopper.sessionKey()!), "the shopper's row, by its hash");
    assert.ok(!table.includes(shopper.sessionId()!), "never the ID");
    assert.doesNotMatch(table, /Grace Hopper|Ceramic|productId|quantity/);
    assert.match(table, /\{&#34;sealed&#34;:&#34;v1\./);
    assert.match(page.text, /HKDF of each hash[\s\S]*?data-testid="opens-with-hash">0</);
    // Beside it, the instructor's own record, opened with the instructor's own cookie.
    const own = /data-testid="own-opened">([\s\S]*?)<\/td>/.exec(page.text)?.[1] ?? "";
    assert.match(text(own), /1 × \S/);
  });

  it("a shopper's own record opens with their cookie; the table stays the instructor's", async () => {
    const app = await shop();
    const shopper = await shopperWithNote(app);
    const page = await shopper.get("/labs/15");
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /data-testid="thief-table"/);
    assert.match(text(/data-testid="own-opened">([\s\S]*?)<\/td>/.exec(page.text)![1]!), /2 × .+ — note: “For Grace Hopper, happy birthday”/);
    assert.match(/data-testid="own-stored">([^<]*)</.exec(page.text)![1]!, /^\{&#34;sealed&#34;:&#34;v1\./);
  });

  it("a key from the table, sent back as a correctly signed session cookie, is refused: no cart, cookie cleared", async () => {
    const app = await shop();
    const victim = await shopperWithNote(app);
    const thief = app.client();
    await thief.get("/labs/15");
    const tried = await thief.post("/labs/15/try", { hash: victim.sessionKey()! });
    assert.equal(tried.status, 303);
    assert.equal(tried.location, `/labs/15?tried=${victim.sessionKey()}`);
    assert.ok(thief.cookies.get("shop_sid"), "the browser now holds the hash, signed");
    const page = await thief.get(tried.location!);
    assert.equal(page.status, 200);
    const attempt = text(/data-testid="lab15-attempt"[^>]*>([\s\S]*?)<\/div>/.exec(page.text)![1]!);
    assert.match(attempt, /^ ?Refused\./);
    assert.match(attempt, /no row has that key/);
    assert.match(attempt, /HKDF\(hash\) does not open it/);
    assert.equal(thief.cookies.get("shop_sid"), undefined, "the refused cookie is cleared");
    assert.deepEqual([...(await cartOf(thief))], [], "the thief has an empty cart");
    assert.deepEqual([...(await cartOf(victim))], [[3, 2]], "the victim's is untouched");
  });

  it("anything but 64 hex digits is a friendly 400; the cookie technique has no table and says so", async () => {
    const app = await shop();
    const c: Client = app.client();
    await c.get("/labs/15");
    for (const hash of ["", "zz", "a".repeat(63), `${"a".repeat(64)}0`, "s:abc"]) {
      const res = await c.post("/labs/15/try", { hash });
      assert.equal(res.status, 400, hash);
      assert.match(res.text, /64 hexadecimal digits/);
    }
    const cookieShop = await shop({ SESSION_STORE: "cookie" });
    const k = cookieShop.client();
    const page = await k.get("/labs/15");
    assert.equal(page.status, 200);
    assert.match(page.text, /keeps nothing on the server: there is no table to steal/);
    assert.equal((await k.post("/labs/15/try", { hash: "a".repeat(64) })).status, 400);
  });
});
