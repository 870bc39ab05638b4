/**
 * Lab 14 through real HTTP: two signed-in shoppers, one unit left, both orders sent at once to the
 * real /checkout. With "check, then decrement" on, both go through and the unit is sold twice (the
 * stock stops at 0: the table refuses less); with the shop's one-statement take, exactly one does
 * and the other is told which line ran out. Plus the instructor's "one on the shelf" and the add
 * button: not without the pass or the tokens (403), nothing but a friendly answer otherwise.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DATA_STORES, postgresForData, register, type Client } from "../test/harness.ts";
import { classroomShops, instructorOn, type TestApp } from "../test/classroom.ts";
import { LAST_UNIT_ORDER, LAST_UNIT_PRODUCT_ID } from "./lab-14-routes.ts";

type App = TestApp;
const shop = classroomShops({ CLASSROOM_VULNERABLE_LABS: "1" });
const postgres = postgresForData();
const instructor = (app: App) => instructorOn(app, "/labs/14");
const stock = async (app: App) => (await app.sql.get<{ stock: number }>("SELECT stock FROM products WHERE id = ?", [LAST_UNIT_PRODUCT_ID]))!.stock;
const status = async (c: Client) =>
  /data-testid="lab14-status">([\s\S]*?)<\/p>/
    .exec((await c.get("/labs/14")).text)![1]!
    .replace(/<[^>]+>/g, "")
    .replace(/\s+/g, " ")
    .trim();

/** A signed-in shopper with the last unit in the cart, on the lab page (its order form's tokens in hand). */
async function shopperWithTheUnit(app: App) {
  const c = app.client();
  await register(c);
  await c.get("/labs/14");
  assert.equal((await c.post("/labs/14/add")).status, 303);
  const page = (await c.get("/labs/14")).text;
  const token = /name="checkoutToken" value="([\w-]{22})"/.exec(page);
  assert.ok(token, "the lab page shows the order form");
  return { c, token: token[1]! };
}
const placeBoth = (a: { c: Client; token: string }, b: { c: Client; token: string }) =>
  Promise.all([a, b].map(({ c, token }) => c.post("/checkout", { ...LAST_UNIT_ORDER, checkoutToken: token })));

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES) {
  describe(`lab 14: the last unit (data on ${data})`, () => {
    it("vulnerable (check, then decrement): both orders go through, the stock stops at 0, and the page says oversold by 1", async () => {
      const app = await shop({ CLASSROOM_VULNERABLE_LABS: "1", ...(await postgres.env(data)) });
      const teacher = await instructor(app);
      assert.equal((await teacher.post("/instructor/labs", { mode: "checkThenDecrement", on: "1", returnTo: "/labs/14" })).status, 303);
      assert.equal((await teacher.post("/instructor/last-unit")).status, 303);
      assert.equal(await stock(app), 1);
      const a = await shopperWithTheUnit(app);
      const b = await shopperWithTheUnit(app);

      const replies = await placeBoth(a, b);
      assert.deepEqual(
        replies.map((r) => r.status),
        [303, 303],
      );
      for (const r of replies) assert.match(r.location!, /^\/orders\/\d+$/);
      assert.notEqual(replies[0]!.location, replies[1]!.location, "two different orders");
      assert.equal(await stock(app), 0, "clamped at 0: CHECK (stock >= 0) refuses less");
      assert.match(
        await status(a.c),
        /in stock: 0\. Since the last unit was put out: 2 orders for 2 units\. Oversold by 1: the shop sold a unit it did not have\./,
      );
    });

    it("fixed (the shop's conditional UPDATE): exactly one order, and the other shopper is told which line ran out", async () => {
      const app = await shop({ CLASSROOM_VULNERABLE_LABS: "1", ...(await postgres.env(data)) });
      const teacher = await instructor(app);
      await teacher.post("/instructor/last-unit");
      const a = await shopperWithTheUnit(app);
      const b = await shopperWithTheUnit(app);

      const replies = await placeBoth(a, b);
      assert.deepEqual(replies.map((r) => r.status).sort(), [303, 409]);
      const refused = replies.find((r) => r.status === 409)!;
      assert.match(refused.text, /Some items ran out while you were shopping, so nothing was charged/);
      assert.match(refused.text, /Trail Compass: you asked for 1, none are left\./);
      assert.equal(await stock(app), 0);
      assert.match(await status(a.c), /in stock: 0\. Since the last unit was put out: 1 order for 1 unit\.$/);
    });

    it("the shelf and the add: only the instructor, only with the tokens, and friendly words for a guest or an empty shelf", async () => {
      const app = await shop({ CLASSROOM_VULNERABLE_LABS: "1", ...(await postgres.env(data)) });
      const sameSite = { origin: app.url, "sec-fetch-site": "same-origin" };
      const teacher = await instructor(app);
      const noToken = await teacher.request("POST", "/instructor/last-unit", { form: {}, headers: sameSite });
      assert.equal(noToken.status, 403);
      const guest = app.client();
      await guest.get("/labs/14");
      const notInstructor = await guest.post("/instructor/last-unit");
      assert.equal(notInstructor.status, 303);
      assert.match(notInstructor.location!, /^\/instructor\/login/);
      assert.notEqual(await stock(app), 1, "the shelf was not touched");

      const added = await guest.post("/labs/14/add");
      assert.equal(added.status, 303);
      assert.match((await guest.get("/labs/14")).text, /Sign in \(or create an account\) first/);
      const shopper = app.client();
      await register(shopper);
      await shopper.get("/labs/14");
      const forged = await shopper.request("POST", "/labs/14/add", { form: {}, headers: sameSite });
      assert.equal(forged.status, 403, "no CSRF token");
      await app.sql.run("UPDATE products SET stock = 0 WHERE id = ?", [LAST_UNIT_PRODUCT_ID]);
      await shopper.post("/labs/14/add");
      assert.match((await shopper.get("/labs/14")).text, /Trail Compass is sold out/);
    });

    it("the vulnerable mode cannot be switched on without CLASSROOM_VULNERABLE_LABS", async () => {
      const app = await shop(await postgres.env(data));
      const teacher = await instructor(app);
      const res = await teacher.post("/instructor/labs", { mode: "checkThenDecrement", on: "1", returnTo: "/labs/14" });
      assert.equal(res.status, 403);
      assert.equal(app.classroom.labModes.checkThenDecrement, false);
    });
  });
}
