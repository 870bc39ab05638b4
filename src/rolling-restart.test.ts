/**
 * A restart under load behind nginx, as `npm run scale-demo` runs it: redis-server, three shop
 * processes, nginx round robin with keep-alive connections to them, 32 shoppers adding to their
 * carts. Two of the instances in turn get SIGTERM and are started again on their ports. nginx reuses its idle
 * keep-alive connections and does not retry a POST it has sent, so an instance that closes a
 * connection under nginx's next request shows up here as a 502. None may; every acknowledged add
 * must be in its cart; the stopped instance exits 0, quickly.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { addTestProducts, cartOf, Client, freshDatabase, SECRET_A, startServerProcess, tempDir } from "./test/harness.ts";
import { startNginx } from "./test/nginx.ts";
import { freePort } from "./test/processes.ts";
import { startRedisServer } from "./test/redis-server.ts";

const SHOPPERS = 32;
const PRODUCTS = 50; // a cart holds at most 60 lines, at most 10 of each
const MAX_ADDS = PRODUCTS * 10;

describe("restarting an instance under load behind nginx", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let dir: string;
  let file: string;
  let ids: number[];
  const ports: number[] = [];
  const servers: ReturnType<typeof startServerProcess>[] = [];
  const start = (i: number) =>
    startServerProcess({
      PORT: String(ports[i]),
      SESSION_STORE: "redis",
      REDIS_URL: redis.url,
      DATABASE_PATH: file,
      SESSION_SECRETS: SECRET_A,
      INSTANCE_NAME: `shop-${"abc"[i]}`,
      TRUST_PROXY: "1",
    });

  before(async () => {
    redis = await startRedisServer();
    dir = tempDir();
    const fresh = freshDatabase(dir);
    file = fresh.file;
    ids = addTestProducts(fresh.db, PRODUCTS);
    fresh.db.close();
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    for (let i = 0; i < 3; i++) servers.push(start(i));
    await Promise.all(servers.map((s) => s.listening));
    nginx = await startNginx(await freePort(), ports, { stdio: "ignore" });
  });
  after(async () => {
    for (const s of servers) s.child.kill("SIGTERM");
    await Promise.all(servers.map((s) => s.exited));
    await nginx?.close();
    await redis?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${SHOPPERS} shoppers adding to their carts while shop-b and then shop-c restart: no 5xx, no lost add, a quick clean exit`, async () => {
    const shoppers = await Promise.all(
      Array.from({ length: SHOPPERS }, async (_, n) => {
        // The first add starts the session; the page after it carries that session's CSRF token.
        const c = new Client(nginx.url);
        await c.get("/");
        const first = ids[n % PRODUCTS]!;
        assert.equal((await c.post("/cart/items", { productId: String(first), quantity: "1" })).status, 303);
        await c.get("/");
        return { c, acked: new Map([[first, 1]]), adds: 1 };
      }),
    );
    const statuses = new Map<string, number>();
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
    let running = true;
    const load = shoppers.map(async (s, n) => {
      while (running && s.adds < MAX_ADDS) {
        const id = ids[(n + s.adds++) % PRODUCTS]!;
        try {
          const reply = await s.c.post("/cart/items", { productId: String(id), quantity: "1", returnTo: "/cart" });
          count(String(reply.status));
          if (reply.status === 303) s.acked.set(id, (s.acked.get(id) ?? 0) + 1);
        } catch (error) {
          count(`network error: ${(error as Error).message}`);
        }
      }
    });

    // shop-b, then shop-c, gets SIGTERM and is started again on its port. (Not all three: nginx
    // sets aside an instance it could not connect to for 10 s, its fail_timeout, so a restarted one
    // gets no traffic for that long, and restarting the last live one leaves no live upstream.)
    const exits: { code: number | null; ms: number }[] = [];
    // Two seconds of load first: nginx's pools of kept-alive connections have grown to the load, so
    // it seldom opens a new one (one opened the instant an instance stops listening is reset by the
    // kernel, src/http-drain.ts).
    await sleep(2_000);
    for (const i of [1, 2]) {
      const signalled = Date.now();
      servers[i]!.child.kill("SIGTERM");
      const code = await servers[i]!.exited;
      exits.push({ code, ms: Date.now() - signalled });
      servers[i] = start(i);
      await servers[i]!.listening;
      await sleep(500);
    }
    running = false;
    await Promise.all(load);

    const summary = `statuses ${JSON.stringify(Object.fromEntries(statuses))}, exits ${exits.map((e) => `${e.code} after ${e.ms} ms`).join(", ")}`;
    console.log(`rolling restart: ${summary}`);
    const failures = [...statuses].filter(([k]) => k !== "303");
    const nginxSaid = nginx
      .errorLog()
      .split("\n")
      .filter((l) => /\[error\]/.test(l))
      .slice(0, 5)
      .join("\n");
    assert.deepEqual(failures, [], `every add answered 303: no 5xx, no failed request while an instance restarts (${summary})\nnginx:\n${nginxSaid}`);
    assert.deepEqual(
      exits.map((e) => e.code),
      [0, 0],
      "each stopped instance exits 0",
    );
    assert.ok(
      exits.every((e) => e.ms < 6_000),
      `each exits well inside the 10 s a supervisor allows (${summary})`,
    );
    assert.ok(
      shoppers.every((s) => s.adds > 10),
      "every shopper kept adding through the restarts",
    );
    for (const s of shoppers) {
      const cart = await cartOf(s.c);
      const missing = [...s.acked].filter(([id, n]) => (cart.get(id) ?? 0) < n);
      assert.deepEqual(missing, [], "every acknowledged add is in the cart");
    }
  });
});

/** One request on `agent` (one socket, kept alive): status, Connection header, whether the socket was reused. */
function get(url: string, agent: http.Agent) {
  return new Promise<{ status?: number; connection?: string; reused: boolean }>((resolve, reject) => {
    const req = http.get(`${url}/`, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
    });
    req.on("error", reject);
  });
}

describe("SIGTERM with a kept-alive connection open (what nginx holds)", () => {
  it("a request sent on it after SIGTERM is answered with Connection: close; then the process exits 0 in a few seconds", async () => {
    const dir = tempDir();
    const server = startServerProcess({ DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: SECRET_A });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const url = await server.listening;
      const first = await get(url, agent);
      assert.equal(first.status, 200);
      assert.equal(first.connection, "keep-alive");
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      while (!server.output().includes('"msg":"shutting down"')) await sleep(10);
      await sleep(50);
      // The connection is idle and the shop is draining: a proxy may send on it at any moment.
      const late = await get(url, agent);
      assert.deepEqual(late, { status: 200, connection: "close", reused: true }, "answered on the same connection, which the server then closes");
      assert.equal(await server.exited, 0);
      assert.ok(Date.now() - signalled < 4_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
    } finally {
      agent.destroy();
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
