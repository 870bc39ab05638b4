/**
 * The saved cart over HTTP, on the real app with a real SQLite file: what a signed-in shopper's
 * cart does when the session ends and at the next sign-in, including two sign-ins at once.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import fs from "node:fs";
import path from "node:path";
import { addToCart, cartOf, Client, DATA_STORES, postgresForData, register, startTestApp, tempDir } from "../test/harness.ts";

const postgres = postgresForData();

let app: Awaited<ReturnType<typeof startTestApp>>;
afterEach(() => app.close());

async function signIn(c: Client, email: string, password: string) {
  await c.get("/login");
  return c.post("/login", { email, password });
}
/** The notice as the shopper reads it (HTML entities decoded). */
const notice = (html: string) => {
  const text = /<p class="flash flash-info session-ended">([^<]*)<\/p>/.exec(html)?.[1];
  return text === undefined ? null : text.replaceAll("&#39;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
};

// Each technique with the shop's data (saved_carts, session_endings) in SQLite and in PostgreSQL.
for (const [technique, data] of ["sqlite", "memory", "cookie"].flatMap((t) => DATA_STORES.map((d) => [t, d] as const))) {
  describe(`the saved cart (${technique} technique, data on ${data})`, () => {
    it("is written when a signed-in session changes its cart, and claimed exactly once at the next sign-in", async () => {
      app = await startTestApp({ SESSION_STORE: technique, ...(await postgres.env(data)) });
      const laptop = app.client();
      const { email, password } = await register(laptop);
      await addToCart(laptop, 1, 2);
      await addToCart(laptop, 4, 1);
      const rows = () => app.sql.all<{ cart: string }>("SELECT cart FROM saved_carts");
      assert.deepEqual(
        (await rows()).map((r) => JSON.parse(r.cart)),
        [
          [
            { productId: 1, quantity: 2 },
            { productId: 4, quantity: 1 },
          ],
        ],
      );
      assert.equal((await laptop.post("/logout")).status, 303);

      // Two sign-ins of the account at the same moment: one gets the saved cart, the other none.
      const a = app.client();
      const b = app.client();
      await Promise.all([a.get("/login"), b.get("/login")]);
      const [ra, rb] = await Promise.all([a.post("/login", { email, password }), b.post("/login", { email, password })]);
      assert.equal(ra.status, 303);
      assert.equal(rb.status, 303);
      const carts = [await cartOf(a), await cartOf(b)];
      const total = carts.reduce((n, c) => n + [...c.values()].reduce((x, y) => x + y, 0), 0);
      assert.equal(total, 3, `the 3 items came back once, not twice and not lost: ${JSON.stringify(carts.map((c) => [...c]))}`);
    });

    it("a session that ended by idling is explained once, with the cart saved for the account", async () => {
      app = await startTestApp({ SESSION_STORE: technique, SESSION_IDLE_SECONDS: "1800", ...(await postgres.env(data)) });
      const c = app.client();
      const { email, password } = await register(c);
      await addToCart(c, 1, 1);
      app.clock.advance(31 * 60_000);
      const first = await c.get("/");
      assert.equal(notice(first.text), "You were signed out after 30 minutes without activity. Your cart was saved to your account — sign in to get it back.");
      assert.equal(notice((await c.get("/")).text), null, "the next page is quiet");
      assert.equal((await signIn(c, email, password)).status, 303);
      assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
    });

    it("a guest whose session idled out is told the cart was cleared", async () => {
      app = await startTestApp({ SESSION_STORE: technique, SESSION_IDLE_SECONDS: "1800", ...(await postgres.env(data)) });
      const c = app.client();
      await addToCart(c, 1, 1);
      app.clock.advance(31 * 60_000);
      assert.equal(notice((await c.get("/")).text), "Your cart was cleared after 30 minutes without activity.");
      assert.equal(notice((await c.get("/")).text), null);
    });
  });
}

/** One account signed in on two devices; device B has 1 teapot in its cart. */
async function twoDevices() {
  app = await startTestApp();
  const a = app.client();
  const { email, password } = await register(a);
  const b = app.client();
  assert.equal((await signIn(b, email, password)).status, 303);
  await addToCart(b, 1, 1);
  return { a, b, email, password };
}

describe("the saved cart, memory technique", () => {
  it("a restart loses every session, but not a signed-in shopper's cart: the shopper is told, and gets it back by signing in", async () => {
    const first = await startTestApp({ SESSION_STORE: "memory" });
    const c = first.client();
    const { email, password } = await register(c);
    await addToCart(c, 4, 2);
    // The same shop restarted: the same database file (accounts, saved carts), an empty memory store.
    first.db.pragma("wal_checkpoint(TRUNCATE)");
    const dir = tempDir();
    fs.copyFileSync(path.join(first.dir, "shop.sqlite"), path.join(dir, "shop.sqlite"));
    await first.close();
    app = await startTestApp({ SESSION_STORE: "memory" }, { dir });
    const moved = new Client(app.url);
    moved.cookies.set("shop_sid", c.cookies.get("shop_sid")!);
    assert.equal(
      notice((await moved.get("/")).text),
      "Your session could not be found: the shop's session store no longer has it (for example after a restart). Your cart was saved to your account — sign in to get it back.",
    );
    assert.equal((await signIn(moved, email, password)).status, 303);
    assert.deepEqual([...(await cartOf(moved))], [[4, 2]]);
  });
});

describe("the saved cart, server-side techniques", () => {
  it("a guest cart and the saved cart merge by sum with clamps, and the shopper reads every adjustment", async () => {
    app = await startTestApp();
    const before = app.client();
    const { email, password } = await register(before);
    await addToCart(before, 1, 6); // Ceramic Teapot
    await addToCart(before, 11, 2); // Enamel Dutch Oven: 2 in stock
    await before.post("/logout");
    const guest = app.client();
    await addToCart(guest, 1, 5);
    await addToCart(guest, 11, 1);
    assert.equal((await signIn(guest, email, password)).status, 303);
    assert.deepEqual([...(await cartOf(guest))].sort(), [
      [1, 10],
      [11, 2],
    ]);
  });

  it("a sign-in that fails after claiming puts the saved cart back (nothing lost)", async () => {
    app = await startTestApp();
    const c = app.client();
    const { email, password } = await register(c);
    await addToCart(c, 1, 2);
    await c.post("/logout");
    // The session store fails the sign-in's write: SQLite refuses writes to the sessions table.
    app.db.exec("CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const d = app.client();
    await d.get("/login");
    const failed = await d.post("/login", { email, password });
    assert.ok(failed.status >= 500 || failed.status === 409, `the sign-in failed (${failed.status})`);
    app.db.exec("DROP TRIGGER refuse_sessions");
    assert.equal((await signIn(d, email, password)).status, 303);
    assert.deepEqual([...(await cartOf(d))], [[1, 2]], "the saved cart is still there for the next sign-in");
  });

  it("another device still signed in keeps its own cart: a sign-in elsewhere does not take it", async () => {
    app = await startTestApp();
    const phone = app.client();
    const { email, password } = await register(phone);
    await addToCart(phone, 4, 3);
    const laptop = app.client();
    assert.equal((await signIn(laptop, email, password)).status, 303);
    assert.deepEqual([...(await cartOf(laptop))], [], "the phone's live cart stays on the phone");
    assert.deepEqual([...(await cartOf(phone))], [[4, 3]]);
  });

  it("the password form: a wrong current password changes nothing; the right one ends the other sessions, which are told why", async () => {
    const { a, b, email, password } = await twoDevices();
    await a.get("/account");
    const wrong = await a.post("/account/password", {
      currentPassword: "nope nope nope",
      newPassword: "a new long passphrase",
      confirmPassword: "a new long passphrase",
    });
    assert.equal(wrong.status, 401);
    assert.match((await b.get("/account")).text, /Change your password/, "device B is still signed in");
    const bad = await a.post("/account/password", { currentPassword: password, newPassword: ["x", "y"] as unknown as string, confirmPassword: "" });
    assert.equal(bad.status, 400, "a malformed form is a 400, never a 5xx");
    const ok = await a.post("/account/password", { currentPassword: password, newPassword: "a new long passphrase", confirmPassword: "a new long passphrase" });
    assert.equal(ok.status, 303);
    assert.equal(
      notice((await b.get("/")).text),
      "You were signed out because your password was changed. Your cart was saved to your account — sign in to get it back.",
    );
    assert.equal((await signIn(b, email, password)).status, 401, "the old password no longer works");
    assert.equal((await signIn(b, email, "a new long passphrase")).status, 303);
    assert.deepEqual([...(await cartOf(b))], [[1, 1]]);
  });

  it("a form sent from a page of an ended session is refused with the reason (409), and nothing changes", async () => {
    const { a, b, email, password } = await twoDevices();
    await b.get("/cart"); // device B's page, with its form token
    await a.get("/account/sessions");
    const others = await a.post("/account/sessions/end", { action: "all", password });
    assert.equal(others.status, 303);
    const late = await b.post("/cart/items", { productId: "4", quantity: "1" });
    assert.equal(late.status, 409);
    assert.match(late.text, /You were signed out from another device\. Your cart was saved to your account — sign in to get it back\. Nothing was changed\./);
    assert.deepEqual([...(await cartOf(b))], [], "no guest cart was started behind the shopper's back");
    assert.equal((await signIn(b, email, password)).status, 303);
    assert.deepEqual([...(await cartOf(b))], [[1, 1]], "the add did not land; the saved cart came back");
  });
});
