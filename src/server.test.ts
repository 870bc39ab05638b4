/** The real entry point, as `npm start` runs it: start-up, migration and seeding, config errors, SIGTERM. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { addToCart, Client, register, SECRET_A, startServerProcess, tempDir } from "./test/harness.js";

const startServer = startServerProcess;

describe("the server process", () => {
  it("migrates and seeds a new database file, serves the shop, and exits 0 on SIGTERM", async () => {
    const dir = tempDir();
    const file = path.join(dir, "nested", "shop.sqlite");
    const server = startServer({ DATABASE_PATH: file, SESSION_SECRETS: SECRET_A });
    try {
      const url = await server.listening;
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Ceramic Teapot/);
      assert.ok(fs.existsSync(file));
      // Produce a session ID and a password for the log checks below.
      const shopper = new Client(url);
      await register(shopper, "logcheck@example.com", "correct horse battery");
      await addToCart(shopper, 1, 1);
      const sessionId = shopper.sessionId()!;
      // An in-flight request (its body still arriving when SIGTERM comes) is finished before exit.
      const body = "quantity=1&productId=1";
      const req = http.request(`${url}/cart/items`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length },
      });
      const status = new Promise<number | undefined>((resolve, reject) => {
        req.on("response", (r) => resolve(r.statusCode));
        req.on("error", reject);
      });
      req.write(body.slice(0, 5));
      await sleep(300);
      server.child.kill("SIGTERM");
      await sleep(300);
      req.end(body.slice(5));
      assert.equal(await status, 303, "the in-flight add to cart was answered");
      const started = Date.now();
      assert.equal(await server.exited, 0);
      assert.ok(Date.now() - started < 10_000);
      assert.match(server.output(), /"msg":"bye"/);
      assert.doesNotMatch(server.output(), new RegExp(SECRET_A), "the secret is never logged");
      assert.equal(server.output().includes(sessionId), false, "the session ID is never logged");
      assert.equal(server.output().includes("correct horse battery"), false, "passwords are never logged");
      assert.doesNotMatch(server.output(), /shop_sid|cookie/i, "cookies are never logged");
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("warns loudly in development when SESSION_SECRETS is missing", async () => {
    const dir = tempDir();
    const server = startServer({ DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: "" });
    try {
      await server.listening;
      assert.match(server.output(), /SESSION_SECRETS is not set: using a random secret for this run only/);
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start in production without secrets, saying what to set", async () => {
    const server = startServer({ NODE_ENV: "production", SESSION_SECRETS: "" });
    assert.equal(await server.exited, 1);
    assert.match(server.output(), /Stateful Shop cannot start\.\nSESSION_SECRETS is required in production/);
  });
});
