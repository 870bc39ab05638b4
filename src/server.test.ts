/** The real entry point, as `npm start` runs it: start-up, migration and seeding, config errors, SIGTERM. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { addToCart, cartOf, Client, register, root, SECRET_A, startServerProcess, tempDir } from "./test/harness.ts";

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
      // A real wait, on purpose: the server is another process, and nothing it sends tells us it has
      // read these headers (it answers only when the body is complete). 300 ms is plenty for that.
      await sleep(300);
      server.child.kill("SIGTERM");
      // The drain starts in the same turn as this log line, so from here the request is "in flight during shutdown".
      for (let waited = 0; !/"msg":"shutting down"/.test(server.output()); waited += 20) {
        if (waited > 10_000) throw new Error(`no shutdown line:\n${server.output()}`);
        await sleep(20);
      }
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

  it("in development without SESSION_SECRETS, keeps a generated secret beside the database so a restart keeps the cart", async () => {
    const dir = tempDir();
    const env = { DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: "" };
    const secretFile = path.join(dir, ".session-secret");
    let server = startServer(env);
    try {
      const shopper = new Client(await server.listening);
      await addToCart(shopper, 1, 2);
      assert.match(server.output(), /SESSION_SECRETS is not set: using a development secret generated on this machine/);
      assert.ok(server.output().includes(secretFile), "the warning says where the secret is kept");
      const secret = fs.readFileSync(secretFile, "utf8").trim();
      assert.ok(secret.length >= 32);
      assert.equal(fs.statSync(secretFile).mode & 0o777, 0o600, "only the owner may read the secret");
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0);
      assert.ok(!server.output().includes(secret), "the secret itself is never logged");

      server = startServer(env);
      const again = new Client(await server.listening);
      for (const [name, value] of shopper.cookies) again.cookies.set(name, value);
      assert.deepEqual([...(await cartOf(again))], [[1, 2]], "the same cookie still opens the same cart after a restart");
      assert.equal(fs.readFileSync(secretFile, "utf8").trim(), secret, "the kept secret is reused, not replaced");
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("npm run dev restarts on a changed view or stylesheet, and the shopper stays signed in across the reload", async () => {
    const dir = tempDir();
    // The script exactly as package.json has it, run by this Node.
    const script = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts.dev as string;
    const [node, ...args] = script.split(" ");
    assert.equal(node, "node");
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: "" },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: --watch runs the server as a child, and both must go at the end.
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const starts = () => [...output.matchAll(/"port":(\d+)/g)].map((m) => `http://127.0.0.1:${m[1]}`);
    const started = async (n: number) => {
      for (let waited = 0; starts().length < n; waited += 50) {
        if (waited > 20_000) throw new Error(`no start number ${n}:\n${output}`);
        await sleep(50);
      }
      return starts()[n - 1]!;
    };
    try {
      const shopper = new Client(await started(1));
      await register(shopper);
      await addToCart(shopper, 1, 2);
      // Touching (not changing) shared files: other tests read them at the same time.
      const now = new Date();
      fs.utimesSync(path.join(root, "views/partials/foot.ejs"), now, now);
      const again = new Client(await started(2));
      for (const [name, value] of shopper.cookies) again.cookies.set(name, value);
      const cart = await again.get("/cart");
      assert.match(cart.text, /Sign out/, "still signed in after the reload");
      assert.deepEqual([...(await cartOf(again))], [[1, 2]]);
      fs.utimesSync(path.join(root, "public/style.css"), now, now);
      await started(3);
    } finally {
      process.kill(-child.pid!, "SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start in production without secrets, saying what to set", async () => {
    const server = startServer({ NODE_ENV: "production", SESSION_SECRETS: "" });
    assert.equal(await server.exited, 1);
    assert.match(server.output(), /Stateful Shop cannot start\.\nSESSION_SECRETS is required in production/);
  });
});
