/**
 * The PostgreSQL technique under real faults: a real cluster (signals to its processes), and a
 * proxy on the shop's link to it (src/test/pg-proxy.ts) that stalls or cuts the link before or
 * after a chosen message. The shop is the real one (createShop over HTTP), PG_QUERY_DEADLINE_MS
 * short so the suite stays quick.
 *
 * What must hold each time, as a shopper would notice it: a request never hangs (the 503 page
 * within the deadline and a margin), nothing acknowledged is lost, nothing logged out comes back,
 * no order is placed twice, and the shop serves again by itself once the fault is gone.
 *
 * FAULT_TRIALS=N repeats the racy ones N times (`npm run test:faults` runs 10).
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { setTimeout as sleep } from "node:timers/promises";
import { addToCart, cartOf, Client, register, slowPost, startTestApp, untilSessionLoaded } from "../test/harness.ts";
import { type PostgresServer, startPostgresServer } from "../test/postgres-server.ts";
import { startPgProxy } from "../test/pg-proxy.ts";

const TRIALS = Number(process.env.FAULT_TRIALS ?? 2);
const DEADLINE_MS = 600;
/** A request may meet the fault at its first store call (one deadline) or at a later one after a slow first: two, plus scheduling under a loaded CI. */
const BOUND_MS = 2 * DEADLINE_MS + 1_000;
const payment = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };

type App = Awaited<ReturnType<typeof startTestApp>>;
let server: PostgresServer;
let proxy: Awaited<ReturnType<typeof startPgProxy>>;
const apps: App[] = [];
before(async () => {
  server = await startPostgresServer();
  proxy = await startPgProxy(server.port);
});
afterEach(async () => {
  proxy.rule = undefined;
  proxy.frozen = false;
  server.signal("SIGCONT");
  for (const a of apps.splice(0)) await a.close();
});
after(async () => {
  await proxy.close();
  await server.close();
});

/** A shop whose pool reaches PostgreSQL through the proxy (or directly), on a fresh database. */
async function shop(env: Record<string, string> = {}, { direct = false, url }: { direct?: boolean; url?: string } = {}) {
  const databaseUrl = url ?? (await server.database());
  const app = await startTestApp({
    SESSION_STORE: "postgres",
    DATABASE_URL: direct ? databaseUrl : proxy.via(databaseUrl),
    PG_QUERY_DEADLINE_MS: String(DEADLINE_MS),
    ...env,
  });
  apps.push(app);
  const sql = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  return { app, sql, databaseUrl };
}

/** A request, timed: its status and how long it took. Never waits past 10 s (a hang fails the test). */
async function timed(work: () => Promise<{ status: number }>) {
  const started = performance.now();
  const res = await work();
  return { status: res.status, ms: performance.now() - started };
}

/** The shop answers normal pages again (it has to recover by itself: nothing is restarted). */
async function untilServed(c: Client, path = "/cart") {
  for (let i = 0; i < 100; i++) {
    if ((await c.get(path)).status === 200) return;
    await sleep(50);
  }
  throw new Error("the shop did not serve again");
}

describe("postgres technique under faults", () => {
  it("a frozen server (SIGSTOP to the postmaster and its backends): the 503 page within the deadline, then served again with the cart intact", {
    timeout: 30_000,
  }, async (t) => {
    const { app } = await shop({}, { direct: true });
    const c = app.client();
    c.timeoutMs = 10_000;
    await addToCart(c, 1, 2);
    server.signal("SIGSTOP");
    let frozen: Awaited<ReturnType<typeof timed>>;
    try {
      frozen = await timed(() => c.get("/cart"));
    } finally {
      server.signal("SIGCONT");
    }
    assert.equal(frozen.status, 503);
    assert.ok(frozen.ms < BOUND_MS, `the 503 came after ${Math.round(frozen.ms)} ms`);
    t.diagnostic(`503 after ${Math.round(frozen.ms)} ms (deadline ${DEADLINE_MS} ms)`);
    await untilServed(c);
    assert.deepEqual([...(await cartOf(c))], [[1, 2]]);
  });

  it("a frozen link (the proxy holds every byte): the 503 page within the deadline for reads and writes; served again once it flows", {
    timeout: 30_000,
  }, async (t) => {
    const { app } = await shop();
    const c = app.client();
    c.timeoutMs = 10_000;
    await addToCart(c, 1, 1);
    proxy.frozen = true;
    const read = await timed(() => c.get("/cart"));
    const write = await timed(() => c.post("/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" }));
    proxy.frozen = false;
    for (const r of [read, write]) {
      assert.equal(r.status, 503);
      assert.ok(r.ms < BOUND_MS, `the 503 came after ${Math.round(r.ms)} ms`);
    }
    t.diagnostic(`503 after ${Math.round(read.ms)} ms (read), ${Math.round(write.ms)} ms (write); deadline ${DEADLINE_MS} ms`);
    await untilServed(c);
    const cart = await cartOf(c);
    assert.equal(cart.get(1), 1, "the acknowledged add is there");
  });

  for (const mode of ["fast", "immediate"] as const) {
    it(`restarted (pg_ctl restart -m ${mode}) while a shopper keeps adding: every acknowledged add survives, and the shop serves again by itself`, {
      timeout: 60_000,
    }, async () => {
      const { app } = await shop({}, { direct: true });
      const c = app.client();
      c.timeoutMs = 10_000;
      await addToCart(c, 1, 1);
      const acknowledged = new Set<number>([1]);
      let stop = false;
      let statuses: number[] = [];
      const shopper = (async () => {
        for (let productId = 2; !stop && productId <= 30; productId++) {
          if (productId === 14) continue; // sold out on purpose (db/seed.sql: products 1-30)
          // A shopper on a page of the shop (its form's CSRF token), pressing "Add".
          if ((await c.get("/")).status !== 200) {
            await sleep(20);
            continue;
          }
          const res = await c.post("/cart/items", { productId: String(productId), quantity: "1", returnTo: "/cart" });
          statuses.push(res.status);
          if (res.status === 303) acknowledged.add(productId);
          else assert.equal(res.status, 503, `a failure is the 503 page, not a ${res.status}`);
        }
      })();
      await sleep(150);
      await server.restart(mode);
      await sleep(300);
      stop = true;
      await shopper;
      await untilServed(c);
      const cart = await cartOf(c);
      for (const id of acknowledged) assert.ok(cart.has(id), `acknowledged add of product ${id} survived the restart (statuses: ${statuses.join(",")})`);
      statuses = [];
      assert.equal((await addToCart(c, 1, 1)).status, 303, "writes work again without restarting the shop");
    });
  }

  /** The add's one-statement write (storage.ts → stores/postgres-store.ts): its own commit, no transaction around it. */
  const oneStatement = (type: string, text: string) => type === "P" && text.startsWith("UPDATE sessions SET data") && text.includes("AND version = $6");

  for (const when of ["before", "after"] as const) {
    it(`the link cut ${when} an add's one-statement write: the 503 page, the change ${when === "before" ? "not saved" : "saved (the reply was lost)"}, nothing else touched; served again`, {
      timeout: 30_000,
    }, async () => {
      const { app } = await shop();
      for (let trial = 0; trial < TRIALS; trial++) {
        const c = app.client(); // a new shopper each trial, on the same shop
        c.timeoutMs = 10_000;
        await addToCart(c, 1, 1);
        await c.get("/");
        const seen: string[] = [];
        proxy.rule = (type, text) => {
          if (type === "Q" || type === "P") seen.push(text.slice(0, 20));
          return oneStatement(type, text) ? (when === "before" ? "cut" : "cut-after") : undefined;
        };
        const res = await timed(() => c.post("/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" }));
        proxy.rule = undefined;
        assert.equal(res.status, 503, "the shopper is told nothing was acknowledged");
        assert.ok(res.ms < BOUND_MS);
        assert.ok(!seen.some((t) => t.startsWith("BEGIN")), `no transaction: ${seen.join(" | ")}`);
        await untilServed(c);
        const cart = await cartOf(c);
        assert.equal(cart.get(1), 1, "the earlier, acknowledged add is there");
        assert.equal(cart.has(2), when === "after", when === "before" ? "a write that never arrived changed nothing" : "a write that arrived is kept");
      }
    });
  }

  for (const when of ["before", "after"] as const) {
    it(`another instance wrote between an add's read and its write: the locked path reruns it; its COMMIT cut ${when}: the 503 page, the other's add kept, this one ${when === "before" ? "not saved" : "saved"}`, {
      timeout: 30_000,
    }, async () => {
      const a = await shop(); // through the proxy
      const { app: b } = await shop({}, { direct: true, url: a.databaseUrl });
      for (let trial = 0; trial < TRIALS; trial++) {
        const onA = a.app.client();
        onA.timeoutMs = 10_000;
        await addToCart(onA, 1, 1);
        await onA.get("/");
        // A loads the session (a touch marks the moment), then waits for the rest of the form.
        a.app.clock.advance(a.app.config.touchIntervalMs);
        const adding = slowPost(onA, "/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" });
        await untilSessionLoaded(a.app, onA.sessionKey()!);
        const onB = new Client(b.url);
        for (const [k, v] of onA.cookies) onB.cookies.set(k, v);
        await onB.get("/");
        assert.equal((await onB.post("/cart/items", { productId: "3", quantity: "1", returnTo: "/cart" })).status, 303, "B's add is acknowledged");
        const seen: string[] = [];
        proxy.rule = (type, text) => {
          if (type === "Q" || type === "P") seen.push(text.slice(0, 24));
          return type === "Q" && text.startsWith("COMMIT") ? (when === "before" ? "cut" : "cut-after") : undefined;
        };
        const res = await adding.finish();
        proxy.rule = undefined;
        assert.equal(res.status, 503, `the shopper is told nothing was acknowledged (${seen.join(" | ")})`);
        assert.ok(
          seen[0]?.startsWith("UPDATE sessions SET data") && seen[1]?.startsWith("BEGIN"),
          `the one statement missed, then the lock: ${seen.join(" | ")}`,
        );
        await untilServed(onA);
        const cart = await cartOf(onA);
        assert.equal(cart.get(1), 1, "the earlier, acknowledged add is there");
        assert.equal(cart.get(3), 1, "B's acknowledged add is kept: A's rerun started from it");
        assert.equal(cart.has(2), when === "after", when === "before" ? "a COMMIT that never arrived rolled back" : "a COMMIT that arrived is kept");
      }
    });
  }

  it("a logout whose reply is lost stays a logout: the cut never brings the session back", { timeout: 30_000 }, async () => {
    const { app, sql } = await shop();
    const c = app.client();
    c.timeoutMs = 10_000;
    await register(c);
    await addToCart(c, 1, 1);
    const key = c.sessionKey()!;
    const cookie = c.cookies.get("shop_sid")!;
    await c.get("/");
    proxy.rule = (type, text) => (type === "P" && text.startsWith("DELETE FROM sessions WHERE id_hash") ? "cut-after" : undefined);
    const res = await c.post("/logout");
    proxy.rule = undefined;
    assert.ok(res.status === 503 || res.status === 303, `status ${res.status}`);
    assert.deepEqual(await sql("SELECT 1 FROM sessions WHERE id_hash = $1", [key]), [], "the row is gone");
    const replay = new Client(app.url);
    replay.cookies.set("shop_sid", cookie);
    await untilServed(replay);
    const page = await replay.get("/cart");
    assert.equal(Client.badge(page.text), 0);
    assert.doesNotMatch(page.text, /Signed in as/);
    assert.deepEqual(await sql("SELECT 1 FROM sessions WHERE id_hash = $1", [key]), [], "and nothing re-created it");
  });

  for (const path of ["one statement", "locked, after a miss"] as const) {
    it(`an instance paused (its ${path === "one statement" ? "one-statement write" : "UPDATE under the row lock"} held on the link) while another writes: the other's change is kept, the paused one never lands`, {
      timeout: 60_000,
    }, async () => {
      const a = await shop(); // through the proxy
      const { app: b } = await shop({}, { direct: true, url: a.databaseUrl });
      const bAdds = async (onB: Client, productId: number) => {
        let status = 0;
        for (let i = 0; i < 20 && status !== 303; i++) {
          await onB.get("/");
          status = (await onB.post("/cart/items", { productId: String(productId), quantity: "1", returnTo: "/cart" })).status; // a shopper pressing "Add" again
        }
        return status;
      };
      // At most 5 trials: each waits out three deadlines on purpose (≈ 3 s), and the suite must stay quick.
      for (let trial = 0; trial < Math.min(TRIALS, 5); trial++) {
        const onA = a.app.client();
        onA.timeoutMs = 10_000;
        await addToCart(onA, 1, 1);
        await onA.get("/");
        const onB = new Client(b.url);
        for (const [k, v] of onA.cookies) onB.cookies.set(k, v);
        let pausedWrite: Promise<{ status: number; ms: number }>;
        if (path === "one statement") {
          // A's one statement sits on the link for 3 deadlines. It holds no lock: B is not kept waiting.
          proxy.rule = (type, text) => (oneStatement(type, text) ? { delayMs: 3 * DEADLINE_MS } : undefined);
          pausedWrite = timed(() => onA.post("/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" }));
        } else {
          // B writes between A's read and A's write: A's one statement misses, A locks the row, and
          // its UPDATE sits on the link for 3 deadlines; the server ends A's idle transaction
          // (idle_in_transaction_session_timeout), releasing the lock.
          a.app.clock.advance(a.app.config.touchIntervalMs);
          const adding = slowPost(onA, "/cart/items", { productId: "2", quantity: "1", returnTo: "/cart" });
          await untilSessionLoaded(a.app, onA.sessionKey()!);
          assert.equal(await bAdds(onB, 4), 303);
          proxy.rule = (type, text) =>
            type === "P" && text.startsWith("UPDATE sessions SET data") && !oneStatement(type, text) ? { delayMs: 3 * DEADLINE_MS } : undefined;
          pausedWrite = timed(() => adding.finish());
        }
        await sleep(100);
        assert.equal(await bAdds(onB, 3), 303, "B's add was acknowledged (once A's lock, if any, was gone)");
        const paused = await pausedWrite;
        proxy.rule = undefined;
        assert.equal(paused.status, 503, `the paused instance's write was refused (${paused.status} after ${Math.round(paused.ms)} ms)`);
        await sleep(3 * DEADLINE_MS); // let the held UPDATE reach the server
        const cart = await cartOf(onB);
        assert.ok(cart.has(3), "B's acknowledged add is kept");
        assert.equal(cart.has(4), path !== "one statement");
        assert.ok(!cart.has(2), "A's late write never landed");
        assert.ok(cart.has(1));
      }
    });
  }

  it("the pool exhausted by slow requests (PG_POOL_MAX=2, every statement stuck behind a lock): each request gets the 503 within the deadline; served again after", {
    timeout: 30_000,
  }, async (t) => {
    const { app, databaseUrl } = await shop({ PG_POOL_MAX: "2" }, { direct: true });
    const shoppers = Array.from({ length: 6 }, () => app.client());
    for (const s of shoppers) {
      s.timeoutMs = 10_000;
      await addToCart(s, 1, 1);
    }
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE");
    let results: Awaited<ReturnType<typeof timed>>[];
    try {
      results = await Promise.all(shoppers.map((s) => timed(() => s.get("/cart"))));
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    for (const r of results) {
      assert.equal(r.status, 503);
      assert.ok(r.ms < BOUND_MS, `a 503 came after ${Math.round(r.ms)} ms`);
    }
    t.diagnostic(`503s after ${results.map((r) => Math.round(r.ms)).join(", ")} ms; deadline ${DEADLINE_MS} ms`);
    for (const s of shoppers) {
      await untilServed(s);
      assert.equal((await cartOf(s)).get(1), 1);
    }
  });

  for (const when of ["before", "after"] as const) {
    it(`checkout with the link cut ${when} the session's COMMIT: one order, shown to the shopper; the same form again places no second`, {
      timeout: 30_000,
    }, async () => {
      const { app } = await shop();
      const c = app.client();
      c.timeoutMs = 10_000;
      await register(c);
      await addToCart(c, 1, 1);
      await c.get("/checkout");
      const form = { checkoutToken: c.checkoutToken, ...payment };
      let commits = 0;
      // The checkout's session write is the last transaction of the request: cut at its COMMIT.
      proxy.rule = (type, text) => {
        if (type !== "Q" || !text.startsWith("COMMIT")) return undefined;
        commits++;
        return when === "before" ? "cut" : "cut-after";
      };
      const first = await c.post("/checkout", form);
      proxy.rule = undefined;
      assert.equal(commits, 1);
      const orders = () => (app.db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
      assert.equal(orders(), 1, "the order is placed");
      assert.equal(first.status, 303, "the shopper is shown the order, not told nothing happened");
      assert.match(first.location ?? "", /^\/orders\/\d+$/);
      await untilServed(c);
      const again = await c.post("/checkout", form);
      assert.ok(again.status < 500, `status ${again.status}`);
      assert.equal(orders(), 1, "the retry placed no second order");
    });
  }
});
