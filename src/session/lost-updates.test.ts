/**
 * Lost updates, measured the hard way: K = 50 concurrent add-to-cart requests of distinct
 * products on one session, every acknowledged add must be in the cart afterwards; 20 rounds.
 * Then the same across two server processes sharing one database file.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { addTestProducts, cartOf, Client, freshDatabase, SECRET_A, startServerProcess, startTestApp } from "../test/harness.ts";

const K = 50;
const ROUNDS = 20;

async function burst(clientFor: (i: number) => Client, ids: number[]) {
  // Every request carries the same cookie and token, as fifty tabs of one browser would.
  const replies = await Promise.all(ids.map((id, i) => clientFor(i).post("/cart/items", { productId: String(id), quantity: "1" })));
  return ids.filter((_, i) => replies[i]!.status === 303);
}

function tabsOf(c: Client, baseUrls: string[]) {
  return (i: number) => {
    const tab = new Client(baseUrls[i % baseUrls.length]!);
    for (const [k, v] of c.cookies) tab.cookies.set(k, v);
    tab.csrf = c.csrf;
    return tab;
  };
}

describe(`lost updates: ${K} concurrent adds on one session`, () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let ids: number[];
  before(async () => {
    app = await startTestApp();
    ids = addTestProducts(app.db, K);
  });
  after(() => app.close());

  it(`${ROUNDS} rounds, one process: zero losses`, async () => {
    let acknowledged = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const c = app.client();
      await c.post("/cart/items", { productId: "1", quantity: "1" }); // the session exists before the burst
      await c.get("/cart");
      const acked = await burst(tabsOf(c, [app.url]), ids);
      acknowledged += acked.length;
      const cart = await cartOf(c);
      const lost = acked.filter((id) => cart.get(id) !== 1);
      assert.deepEqual(lost, [], `round ${round + 1}: acknowledged but missing`);
      assert.equal(acked.length, K, `round ${round + 1}: every add was acknowledged`);
    }
    assert.equal(acknowledged, K * ROUNDS);
  });
});

describe("lost updates across two processes sharing one SQLite file", () => {
  let dir: string;
  let servers: ReturnType<typeof startServerProcess>[];
  let urls: string[];
  let ids: number[];
  before(async () => {
    const fresh = freshDatabase();
    dir = fresh.dir;
    ids = addTestProducts(fresh.db, K);
    fresh.db.close();
    const env = { DATABASE_PATH: fresh.file, SESSION_SECRETS: SECRET_A };
    servers = [startServerProcess(env), startServerProcess(env)];
    urls = await Promise.all(servers.map((s) => s.listening));
  });
  after(async () => {
    for (const s of servers) s.child.kill("SIGTERM");
    await Promise.all(servers.map((s) => s.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${ROUNDS} rounds of ${K} adds alternating between the processes: zero losses`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const c = new Client(urls[round % 2]!);
      await c.post("/cart/items", { productId: "1", quantity: "1" });
      await c.get("/cart");
      const acked = await burst(tabsOf(c, urls), ids);
      assert.equal(acked.length, K, `round ${round + 1}: every add was acknowledged`);
      for (const url of urls) {
        const view = new Client(url);
        for (const [k, v] of c.cookies) view.cookies.set(k, v);
        const cart = await cartOf(view);
        assert.deepEqual(
          acked.filter((id) => cart.get(id) !== 1),
          [],
          `round ${round + 1}, seen from ${url}`,
        );
      }
    }
    for (const s of servers) assert.doesNotMatch(s.output(), /"level":50/, "no errors logged");
  });

  it("a logout on one process is final on the other", async () => {
    const c = new Client(urls[0]!);
    await c.post("/cart/items", { productId: "1", quantity: "2" });
    const onB = new Client(urls[1]!);
    for (const [k, v] of c.cookies) onB.cookies.set(k, v);
    assert.equal(Client.badge((await onB.get("/cart")).text), 2);
    await c.get("/cart");
    await c.post("/cart/empty");
    await c.get("/");
    const stale = c.cookies.get("shop_sid")!;
    // sign out is only for signed-in users in the UI, but the route destroys any session
    await c.post("/logout");
    const replay = new Client(urls[1]!);
    replay.cookies.set("shop_sid", stale);
    assert.equal(Client.badge((await replay.get("/cart")).text), 0);
  });
});
