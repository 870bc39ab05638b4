/**
 * SESSION_STORE=./a/store.ts npm start, as a student runs it: the real server process checks the
 * store with the exercises' grader before it serves; a good store runs the shop (and the X-ray and the
 * dashboard say "Your store"), a broken one stops the start with the grader's words.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { addToCart, cartOf, Client, SECRET_A, startServerProcess, tempDir } from "../test/harness.ts";

const PASSWORD = "instructor-password-for-tests";

describe("a student's store running the shop", () => {
  it("a store that passes the contract runs the shop: carts work, the X-ray and the dashboard name it", async () => {
    const dir = tempDir();
    const server = startServerProcess({
      DATABASE_PATH: path.join(dir, "shop.sqlite"),
      SESSION_SECRETS: SECRET_A,
      SESSION_STORE: "./src/exercises/reference/memory.ts",
      INSTRUCTOR_PASSWORD: PASSWORD,
    });
    try {
      const url = await server.listening;
      assert.match(server.output(), /"properties":15,.*"the student's store passed the contract"/);
      assert.match(server.output(), /"technique":"student"/);
      const shopper = new Client(url);
      await addToCart(shopper, 1, 2);
      await addToCart(shopper, 3, 1);
      assert.deepEqual(
        [...(await cartOf(shopper))],
        [
          [1, 2],
          [3, 1],
        ],
      );
      await shopper.get("/");
      await shopper.post("/xray", { on: "1", returnTo: "/" });
      const page = await shopper.get("/cart");
      assert.match(page.text, /Your store sessions/, "the header chip names the technique");
      assert.match(page.text, /student technique/, "the X-ray says whose store answered");
      assert.match(page.text, /Your store&#39;s key = sha256\(ID\)|Your store's key = sha256\(ID\)/);

      const teacher = new Client(url);
      await teacher.get("/instructor/login");
      await teacher.post("/instructor/login", { password: PASSWORD, next: "/instructor" });
      const dashboard = await teacher.get("/instructor");
      assert.equal(dashboard.status, 200);
      assert.match(dashboard.text, /data-testid="technique">student</, "the dashboard names the technique");
    } finally {
      server.child.kill("SIGKILL");
      await server.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a store that breaks the contract does not serve: the start stops with the broken property in the grader's words", async () => {
    const dir = tempDir();
    const server = startServerProcess({
      DATABASE_PATH: path.join(dir, "shop.sqlite"),
      SESSION_SECRETS: SECRET_A,
      SESSION_STORE: "./src/exercises/broken/02-sqlite-upsert.ts",
    });
    try {
      assert.equal(await server.exited, 1);
      const out = server.output();
      assert.match(out, /Stateful Shop cannot start\./);
      assert.match(out, /this store breaks the session contract, so the shop will not serve on it/);
      assert.match(out, /✗ no resurrection: update on a session that was already gone \(signed out, or expired\) did not return null/);
      assert.match(out, /npm run exercise -- 2 \.\/src\/exercises\/broken\/02-sqlite-upsert\.ts/);
      assert.doesNotMatch(out, /Stateful Shop is open/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
