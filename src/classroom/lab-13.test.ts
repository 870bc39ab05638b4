/**
 * Lab 13 through real HTTP: the instructor's merge-policy switch (only a known policy, only with
 * the pass's token), the two "fill a cart" helpers, and the whole round — saved cart, sign-out,
 * guest cart, sign-in — for each policy, with what the shopper is told.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cartOf, register, type Client } from "../test/harness.ts";
import { classroomShops, instructorOn, type TestApp } from "../test/classroom.ts";

type App = TestApp;
const shop = classroomShops();
const instructor = (app: App) => instructorOn(app, "/labs/13");
/** The flash on the page a redirect leads to, as text. */
async function follow(c: Client, res: { status: number; location: string | null }) {
  assert.equal(res.status, 303);
  return (await c.get(res.location!)).text;
}

describe("lab 13: the instructor's merge-policy switch", () => {
  it("switches the policy for the next sign-in, and the lab page says which one is in force", async () => {
    const app = await shop();
    const teacher = await instructor(app);
    assert.match((await teacher.get("/labs/13")).text, /data-testid="merge-policy">Add them up</);
    const res = await teacher.post("/instructor/cart-merge", { policy: "larger", returnTo: "/labs/13" });
    assert.equal(res.location, "/labs/13");
    assert.equal(app.classroom.cartMergePolicy, "larger");
    const page = await follow(teacher, res);
    assert.match(page, /Carts now merge at sign-in by “Keep the larger quantity”/);
    assert.match(page, /data-testid="merge-policy">Keep the larger quantity</);
  });

  it("refuses anything but a known policy with a friendly 400", async () => {
    const app = await shop();
    const teacher = await instructor(app);
    for (const policy of ["", "biggest", "__proto__", "SUM", "sum "]) {
      const res = await teacher.post("/instructor/cart-merge", { policy });
      assert.equal(res.status, 400, `policy ${JSON.stringify(policy)}`);
      assert.match(res.text, /That is not a cart merge policy/);
    }
    const none = await teacher.post("/instructor/cart-merge", {});
    assert.equal(none.status, 400);
    assert.equal(app.classroom.cartMergePolicy, "sum", "nothing changed");
  });

  it("needs the instructor's pass and its token: 403 without the token, the sign-in page without the pass", async () => {
    const app = await shop();
    const teacher = await instructor(app);
    const sameSite = { origin: app.url, "sec-fetch-site": "same-origin" };
    const noToken = await teacher.request("POST", "/instructor/cart-merge", { form: { policy: "newest" }, headers: sameSite });
    assert.equal(noToken.status, 403);
    const wrongToken = await teacher.request("POST", "/instructor/cart-merge", { form: { policy: "newest", _instructor: "A".repeat(86) }, headers: sameSite });
    assert.equal(wrongToken.status, 403);
    const shopper = app.client();
    await shopper.get("/labs/13");
    const notInstructor = await shopper.post("/instructor/cart-merge", { policy: "newest" });
    assert.equal(notInstructor.status, 303);
    assert.match(notInstructor.location!, /^\/instructor\/login\?next=/);
    assert.equal(app.classroom.cartMergePolicy, "sum");
  });
});

describe("lab 13: the fill helpers", () => {
  it("refuse a post without the CSRF token (403), and say what to do first when signed in or out the wrong way", async () => {
    const app = await shop();
    const c = app.client();
    await c.get("/labs/13");
    for (const path of ["/labs/13/saved", "/labs/13/guest"]) {
      const forged = await c.request("POST", path, { form: {}, headers: { origin: "http://evil.example" } });
      assert.equal(forged.status, 403, path);
    }
    assert.match(await follow(c, await c.post("/labs/13/saved")), /Sign in \(or create an account\) first/);
    assert.equal(c.cookies.has("shop_sid"), false, "nothing stored for a guest who pressed the account's button");
    assert.equal((await c.post("/labs/13/guest")).status, 303);
    // A session now exists: its token is required from here on.
    const noToken = await c.request("POST", "/labs/13/guest", { form: {} });
    assert.equal(noToken.status, 403);
    await register(c);
    await c.get("/labs/13");
    assert.match(await follow(c, await c.post("/labs/13/guest")), /Sign out first/);
  });
});

describe("lab 13: saved cart + guest cart, by policy", () => {
  // Products: 5 Stoneware Mug, 9 Chef's Knife, 6 Hand Coffee Grinder (stock 3), 11 Enamel Dutch Oven (stock 2), 10 Linen Apron.
  const cases = [
    {
      policy: "sum",
      cart: [
        [5, 3],
        [9, 10],
        [6, 3],
        [10, 1],
        [11, 1],
      ],
      told: ["Stoneware Mug: 2 + 1 → 3", "Chef&#39;s Knife reduced to 10: at most 10 per product.", "Hand Coffee Grinder reduced to 3: only 3 left."],
    },
    {
      policy: "larger",
      cart: [
        [5, 2],
        [9, 7],
        [6, 2],
        [10, 1],
        [11, 1],
      ],
      told: ["Stoneware Mug: kept the larger quantity, 2 (not 1).", "Chef&#39;s Knife: kept the larger quantity, 7 (not 6)."],
    },
    {
      policy: "newest",
      cart: [
        [5, 2],
        [9, 7],
        [6, 2],
        [10, 1],
      ],
      told: ["This visit&#39;s cart was newer, so it replaced your saved cart."],
    },
    {
      policy: "account",
      cart: [
        [5, 1],
        [9, 6],
        [6, 2],
        [11, 1],
      ],
      told: ["Your saved cart replaced this visit&#39;s cart."],
    },
  ] as const;

  for (const { policy, cart, told } of cases) {
    it(`${policy}: the cart after sign-in and every adjustment in the message`, async () => {
      const app = await shop();
      const teacher = await instructor(app);
      await teacher.post("/instructor/cart-merge", { policy, returnTo: "/labs/13" });

      const shopper = app.client();
      const account = await register(shopper);
      await shopper.get("/labs/13");
      assert.match(await follow(shopper, await shopper.post("/labs/13/saved")), /Now sign out: the shop keeps this cart for your account/);
      await shopper.post("/logout");
      await shopper.get("/labs/13");
      // The demo clock is manual: move it, so the guest's cart is the newer one (as it is in class).
      app.clock.advance(1000);
      assert.match(await follow(shopper, await shopper.post("/labs/13/guest")), /Now sign in to the same account/);
      app.clock.advance(1000);
      await shopper.get("/login");
      const welcome = await follow(shopper, await shopper.post("/login", { email: account.email, password: account.password, next: "/labs/13" }));
      assert.match(welcome, /Your saved cart is back \(10 items\)/);
      for (const sentence of told) assert.ok(welcome.includes(`<li>${sentence}</li>`), `told: ${sentence}`);
      assert.deepEqual([...(await cartOf(shopper))], cart);
    });
  }
});
