/**
 * When SQLite cannot write (another process holds the lock, the disk is full, the file is
 * read-only), a request gets a clear 503 with Retry-After, nothing is acknowledged that was not
 * stored, and the shop recovers by itself once the cause is gone.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { addToCart, cartOf, register, startTestApp } from "../test/harness.ts";

let app: Awaited<ReturnType<typeof startTestApp>>;
beforeEach(async () => {
  app = await startTestApp({ SQLITE_BUSY_TIMEOUT_MS: "200" });
});
afterEach(() => app.close());

function assert503(res: { status: number; text: string; headers: Headers }) {
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.match(res.text, /nothing was saved/);
  assert.doesNotMatch(res.text, /SQLITE_|at \w+ \(/, "no internals shown");
}

describe("storage failures", () => {
  it("another process holding the write lock: 503 after a bounded wait, then recovery", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const other = new Database(path.join(app.dir, "shop.sqlite"));
    other.exec("BEGIN IMMEDIATE");
    try {
      const started = Date.now();
      const res = await c.post("/cart/items", { productId: "2", quantity: "1" });
      assert503(res);
      assert.ok(Date.now() - started < 2000, "the wait is bounded by SQLITE_BUSY_TIMEOUT_MS");
      assert.equal((await c.get("/cart")).status, 200, "reading still works while another process writes (WAL)");
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.deepEqual([...(await cartOf(c))], [[1, 1]], "the refused add was not stored");
    assert.equal((await c.post("/cart/items", { productId: "2", quantity: "1" })).status, 303, "recovered by itself");
    assert.deepEqual(
      [...(await cartOf(c))],
      [
        [1, 1],
        [2, 1],
      ],
    );
  });

  it("a write waiting for another connection's lock does not freeze the process: other pages keep answering, and the write lands when the lock goes", async () => {
    const patient = await startTestApp({ SQLITE_BUSY_TIMEOUT_MS: "2000" });
    try {
      const c = patient.client();
      await addToCart(c, 1, 1);
      await c.get("/cart");
      const other = new Database(path.join(patient.dir, "shop.sqlite"));
      other.exec("BEGIN IMMEDIATE");
      // The lock goes after 1.2 s: a timer of this process, so it only fires if the event loop is free.
      const released = new Promise<void>((resolve) =>
        setTimeout(() => {
          other.exec("ROLLBACK");
          other.close();
          resolve();
        }, 1200),
      );
      const started = performance.now();
      const add = c.post("/cart/items", { productId: "2", quantity: "1" });
      const bystander: number[] = [];
      const stop = performance.now() + 1000;
      while (performance.now() < stop) {
        const t = performance.now();
        const res = await fetch(`${patient.url}/no-such-page`);
        await res.text();
        bystander.push(performance.now() - t);
      }
      const added = await add;
      const waited = performance.now() - started;
      await released;
      bystander.sort((x, y) => x - y);
      const p99 = bystander[Math.floor(bystander.length * 0.99)] ?? Number.POSITIVE_INFINITY;
      console.log(
        `ℹ lock held 1.2 s: the add answered ${added.status} after ${Math.round(waited)} ms; a parallel page: ${bystander.length} requests, p99 ${p99.toFixed(1)} ms, max ${bystander.at(-1)?.toFixed(1)} ms`,
      );
      assert.ok(bystander.length >= 20, `other pages kept answering while the write waited (${bystander.length} in 1 s)`);
      // Frozen, the process made every bystander wait out the lock (2.0–2.8 s before the fix). The bound
      // is well under the lock's 1.2 s, and loose enough for one scheduling hiccup of a loaded 2-core
      // machine (45 samples: p99 is the slowest one; 140–156 ms seen while other test runs shared it).
      assert.ok(p99 < 500, `a parallel page's p99 stays far below the lock's 1.2 s (was ${p99.toFixed(0)} ms)`);
      assert.equal(added.status, 303, "the add waited for the lock and was saved");
      assert.ok(waited >= 1100, "it really waited for the other connection");
      assert.deepEqual(
        [...(await cartOf(c))],
        [
          [1, 1],
          [2, 1],
        ],
      );
    } finally {
      await patient.close();
    }
  });

  it("the shop's own data waits out another process's lock at one level: a sign-up and an order are refused with the 503 within the deadline, then placed once", async () => {
    const c = app.client();
    await c.get("/register");
    const other = new Database(path.join(app.dir, "shop.sqlite"));
    other.exec("BEGIN IMMEDIATE");
    const email = "locked-out@example.com";
    try {
      const started = Date.now();
      const res = await c.post("/register", { email, password: "correct horse battery" });
      assert503(res);
      assert.ok(Date.now() - started < 2000, "the wait is bounded by SQLITE_BUSY_TIMEOUT_MS");
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.equal((await app.sql.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE email = ?", [email]))?.n, 0, "no account");
    await register(c, email);
    await addToCart(c, 1, 1);
    await c.get("/checkout");
    const token = c.checkoutToken;
    const form = { name: "Ada Lovelace", address: "12 Analytical Row\nLondon", card: "4242 4242 4242 4242", expiry: "12/39", cvc: "123" };
    const locker = new Database(path.join(app.dir, "shop.sqlite"));
    locker.exec("BEGIN IMMEDIATE");
    try {
      assert503(await c.post("/checkout", { checkoutToken: token, ...form }));
    } finally {
      locker.exec("ROLLBACK");
      locker.close();
    }
    const placed = await c.post("/checkout", { checkoutToken: token, ...form });
    assert.equal(placed.status, 303, "the same form, once the lock is gone: placed");
    assert.equal((await app.sql.get<{ n: number }>("SELECT count(*) AS n FROM orders"))?.n, 1, "one order");
  });

  it("a sign-up waiting for another process's lock goes through when the lock goes, once", async () => {
    const patient = await startTestApp({ SQLITE_BUSY_TIMEOUT_MS: "2000" });
    try {
      const c = patient.client();
      await c.get("/register");
      const other = new Database(path.join(patient.dir, "shop.sqlite"));
      other.exec("BEGIN IMMEDIATE");
      setTimeout(() => {
        other.exec("ROLLBACK");
        other.close();
      }, 400);
      const started = performance.now();
      const res = await c.post("/register", { email: "patient@example.com", password: "correct horse battery" });
      assert.equal(res.status, 303, "signed up after the wait");
      assert.ok(performance.now() - started >= 350, "it really waited for the other connection");
      assert.equal((await patient.sql.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE email = ?", ["patient@example.com"]))?.n, 1);
    } finally {
      await patient.close();
    }
  });

  it("a full disk: 503, nothing half-written, and recovery when space returns", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    const pages = app.db.pragma("page_count", { simple: true }) as number;
    app.db.pragma(`max_page_count = ${pages}`); // the database may not grow: as good as a full disk
    let full: Awaited<ReturnType<typeof addToCart>> | undefined;
    // New guests need new rows; sooner or later one needs a new page.
    for (let i = 0; i < 2000 && !full; i++) {
      const guest = app.client();
      const res = await addToCart(guest, 3, 1);
      if (res.status !== 303) full = res;
    }
    assert.ok(full, "the database filled up");
    assert503(full);
    app.db.pragma("max_page_count = 1073741823");
    assert.equal((await addToCart(app.client(), 3, 1)).status, 303, "recovered by itself");
    assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
  });

  it("a read-only database: 503 for writes, pages still readable, then recovery", async () => {
    const c = app.client();
    await addToCart(c, 1, 1);
    await c.get("/cart");
    app.db.pragma("query_only = ON"); // what a read-only file or mount looks like to SQLite
    try {
      assert503(await c.post("/cart/items", { productId: "2", quantity: "1" }));
      assert.equal((await c.get("/")).status, 200);
    } finally {
      app.db.pragma("query_only = OFF");
    }
    assert.equal((await c.post("/cart/items", { productId: "2", quantity: "1" })).status, 303);
  });
});
