/**
 * The shop's data on PostgreSQL, shared by several real shop processes (DATA_STORE=postgres), as
 * three instances on three hosts would share it:
 *
 * - instances starting at once on an empty database apply each migration and the seed exactly once
 *   (the advisory lock), and every one of them starts;
 * - two shoppers on two instances press "Place order" for the last unit at the same moment: exactly
 *   one order, stock 0 (never below), and the other shopper is told which line ran out — with the
 *   sessions in Redis, in PostgreSQL, or in each instance's own SQLite file;
 * - the connection is cut just after the order's COMMIT (the server commits, the shop never hears
 *   it): the shopper is shown the order, and a retry of the same form places no second one;
 * - PostgreSQL frozen (a link that stops delivering): the friendly 503 within the deadline, never a
 *   hang or a 500; thawed, the shop serves again by itself.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { addToCart, Client, register, SECRET_A, startServerProcess, tempDir } from "../test/harness.ts";
import { startPgProxy } from "../test/pg-proxy.ts";
import { type PostgresServer, startPostgresServer } from "../test/postgres-server.ts";
import { startRedisServer } from "../test/redis-server.ts";
import { LAST_UNIT_PRODUCT_ID } from "../classroom/lab-14-routes.ts";

const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };
const PRODUCT = LAST_UNIT_PRODUCT_ID; // Trail Compass
const DEADLINE_MS = 600;

type Shop = ReturnType<typeof startServerProcess>;

let postgres: PostgresServer;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
const dirs: string[] = [];
const shops: Shop[] = [];
before(async () => {
  [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
});
after(async () => {
  for (const s of shops) s.child.kill("SIGTERM");
  await Promise.all(shops.map((s) => s.exited));
  await Promise.all([postgres.close(), redis.close()]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A shop process with its data at `databaseUrl`: its own temp folder (so SESSION_STORE=sqlite is a local file per host). */
function startShop(databaseUrl: string, env: Record<string, string> = {}) {
  const dir = tempDir();
  dirs.push(dir);
  const shop = startServerProcess({
    DATA_STORE: "postgres",
    DATABASE_URL: databaseUrl,
    DATABASE_PATH: path.join(dir, "shop.sqlite"),
    SESSION_SECRETS: SECRET_A,
    REDIS_URL: redis.url,
    PG_QUERY_DEADLINE_MS: String(DEADLINE_MS),
    ...env,
  });
  shops.push(shop);
  return shop;
}

async function query<R>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as R[];
  } finally {
    await client.end();
  }
}

describe("instances starting at once on an empty database", () => {
  it("apply each migration and the seed exactly once, and all of them start", async () => {
    const url = await postgres.database();
    const started = performance.now();
    const four = [1, 2, 3, 4].map(() => startShop(url));
    const urls = await Promise.all(four.map((s) => s.listening));
    const ms = performance.now() - started;
    const migrations = await query<{ version: number }>(url, "SELECT version FROM schema_migrations ORDER BY version");
    const files = fs.readdirSync(path.resolve(import.meta.dirname, "../../db/migrations-postgres")).filter((f) => /^\d{3}-/.test(f));
    assert.deepEqual(
      migrations.map((m) => m.version),
      files.map((f) => Number(f.slice(0, 3))),
      "one row per migration file",
    );
    const [{ n }] = (await query<{ n: string }>(url, "SELECT count(*) AS n FROM products")) as [{ n: string }];
    assert.equal(Number(n), 30, "the demo catalog, seeded once");
    const seeded = four.filter((s) => /"seeded":true/.test(s.output())).length;
    const applied = four.map((s) => JSON.parse(/"postgresMigrationsApplied":(\[[\d,]*\])/.exec(s.output())?.[1] ?? "null") as number[]);
    console.log(
      `4 instances started together in ${ms.toFixed(0)} ms; PostgreSQL migrations applied per instance: ${JSON.stringify(applied)}; seeded by ${seeded}`,
    );
    assert.deepEqual(
      applied.flat().sort((a, b) => a - b),
      files.map((f) => Number(f.slice(0, 3))),
      "each migration applied by exactly one instance",
    );
    assert.equal(seeded, 1, "exactly one instance seeded");
    for (const u of urls) assert.equal((await new Client(u).get("/")).status, 200);
    for (const s of four) s.child.kill("SIGTERM");
    await Promise.all(four.map((s) => s.exited));
  });
});

for (const technique of ["redis", "postgres", "sqlite"] as const) {
  describe(`the last unit, two shoppers on two instances (sessions: ${technique})`, () => {
    let url: string;
    let hosts: [string, string];
    before(async () => {
      url = await postgres.database();
      // SESSION_STORE=postgres: the sessions table in the same database as the data (DATABASE_URL).
      const [first, second] = [startShop(url, { SESSION_STORE: technique }), startShop(url, { SESSION_STORE: technique })];
      hosts = [await first.listening, await second.listening];
    });
    const stock = async () => (await query<{ stock: number }>(url, "SELECT stock FROM products WHERE id = $1", [PRODUCT]))[0]!.stock;
    const ordersOfProduct = async () =>
      Number((await query<{ n: string }>(url, "SELECT count(DISTINCT order_id) AS n FROM order_lines WHERE product_id = $1", [PRODUCT]))[0]!.n);

    it("exactly one order, stock 0, the other shopper told which line ran out (10 races)", { timeout: 120_000 }, async () => {
      const outcomes: string[] = [];
      for (let race = 0; race < 10; race++) {
        await query(url, "UPDATE products SET stock = 1 WHERE id = $1", [PRODUCT]);
        const before = await ordersOfProduct();
        const shoppers = hosts.map((h) => new Client(h));
        for (const s of shoppers) {
          await addToCart(s, PRODUCT, 1);
          await register(s);
          await s.get("/checkout");
        }
        const replies = await Promise.all(shoppers.map((s) => s.post("/checkout", { ...payment, checkoutToken: s.checkoutToken })));
        const statuses = replies.map((r) => r.status);
        outcomes.push(statuses.join("/"));
        assert.deepEqual([...statuses].sort(), [303, 409], `race ${race}: one order, one refusal (${statuses})`);
        const loser = replies.find((r) => r.status === 409)!;
        assert.match(loser.text, /Trail Compass: you asked for 1, none are left/);
        assert.match(loser.text, /nothing was charged/);
        assert.equal(await stock(), 0, "stock 0, never below");
        assert.equal((await ordersOfProduct()) - before, 1, "exactly one order");
      }
      console.log(`sessions ${technique}: 10 races for the last unit across two instances, answers ${outcomes.join(", ")}`);
    });
  });
}

describe("the connection cut just after the order's COMMIT", () => {
  let url: string;
  let proxy: Awaited<ReturnType<typeof startPgProxy>>;
  let host: string;
  before(async () => {
    url = await postgres.database();
    proxy = await startPgProxy(Number(new URL(url).port));
    const shop = startShop(proxy.via(url), { SESSION_STORE: "redis" });
    host = await shop.listening;
  });
  after(() => proxy.close());

  it("the shopper is shown the order; the retry of the same form finds it: one order, stock lowered once", async () => {
    const c = new Client(host);
    await addToCart(c, 1, 2);
    await register(c);
    await c.get("/checkout");
    const form = { ...payment, checkoutToken: c.checkoutToken };
    const [{ stock: before }] = (await query<{ stock: number }>(url, "SELECT stock FROM products WHERE id = 1")) as [{ stock: number }];
    // Armed by the order's last line: the next COMMIT reaches the server, its answer never reaches the shop.
    let armed = false;
    let cut = 0;
    proxy.rule = (type, text) => {
      if (type === "P" && text.startsWith("INSERT INTO order_lines")) armed = true;
      if (armed && type === "Q" && text.startsWith("COMMIT")) {
        armed = false;
        cut++;
        return "cut-after";
      }
      return undefined;
    };
    const first = await c.post("/checkout", form);
    proxy.rule = undefined;
    assert.equal(cut, 1, "the order's COMMIT was cut");
    const retry = await c.post("/checkout", form);
    const orders = await query<{ id: number }>(url, "SELECT id FROM orders");
    const [{ stock: afterStock }] = (await query<{ stock: number }>(url, "SELECT stock FROM products WHERE id = 1")) as [{ stock: number }];
    console.log(`COMMIT cut: first answer ${first.status} ${first.location}, retry ${retry.status} ${retry.location}, orders ${orders.length}`);
    assert.equal(orders.length, 1, "one order");
    assert.equal(afterStock, before - 2, "stock lowered once");
    assert.equal(first.status, 303, `the first answer is the order, not an error: ${first.text.slice(0, 200)}`);
    assert.equal(first.location, `/orders/${orders[0]!.id}`);
    assert.equal(retry.status, 303);
    assert.equal(retry.location, first.location, "the retry lands on the same order");
  });

  it("PostgreSQL frozen: the 503 page within the deadline, never a hang; thawed, the shop serves by itself", async () => {
    const c = new Client(host);
    c.timeoutMs = 10_000;
    assert.equal((await c.get("/")).status, 200);
    proxy.frozen = true;
    let frozen: { status: number; text: string; ms: number };
    try {
      const started = performance.now();
      const res = await c.get("/");
      frozen = { status: res.status, text: res.text, ms: performance.now() - started };
    } finally {
      proxy.frozen = false;
    }
    console.log(`catalog page with PostgreSQL frozen: ${frozen.status} after ${frozen.ms.toFixed(0)} ms (deadline ${DEADLINE_MS} ms)`);
    assert.equal(frozen.status, 503);
    assert.match(frozen.text, /Back in a moment/);
    assert.ok(frozen.ms < DEADLINE_MS * 3, `answered within the deadline, not a hang (${frozen.ms.toFixed(0)} ms)`);
    for (let i = 0; (await c.get("/")).status !== 200; i++) {
      if (i > 100) throw new Error("the shop did not recover after the thaw");
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  // Last in the file: it stops the cluster the other tests share.
  it("PostgreSQL stopped (a crash): the 503 page for the catalog and the checkout, never a 500 or a hang; started again, the same form places one order", async () => {
    const c = new Client(host);
    c.timeoutMs = 10_000;
    await addToCart(c, 3, 1);
    await register(c);
    await c.get("/checkout");
    const form = { ...payment, checkoutToken: c.checkoutToken };
    await postgres.stop("immediate");
    let down: { status: number; text: string; ms: number }[];
    try {
      down = [];
      for (const request of [() => c.get("/"), () => c.post("/checkout", form)]) {
        const started = performance.now();
        const res = await request();
        down.push({ status: res.status, text: res.text, ms: performance.now() - started });
      }
    } finally {
      await postgres.start();
    }
    console.log(
      `PostgreSQL stopped: catalog ${down[0]!.status} after ${down[0]!.ms.toFixed(0)} ms, checkout ${down[1]!.status} after ${down[1]!.ms.toFixed(0)} ms`,
    );
    for (const r of down) {
      assert.equal(r.status, 503, r.text.slice(0, 300));
      assert.match(r.text, /nothing was saved/);
      assert.ok(r.ms < DEADLINE_MS * 3, `no hang (${r.ms.toFixed(0)} ms)`);
    }
    let placed = await c.post("/checkout", form);
    for (let i = 0; placed.status === 503; i++) {
      if (i > 100) throw new Error("the shop did not recover after PostgreSQL came back");
      await new Promise((r) => setTimeout(r, 50));
      placed = await c.post("/checkout", form);
    }
    assert.equal(placed.status, 303, placed.text.slice(0, 300));
    const orders = await query<{ n: string }>(url, "SELECT count(*) AS n FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.product_id = 3");
    assert.equal(Number(orders[0]!.n), 1, "one order for this form");
  });
});
