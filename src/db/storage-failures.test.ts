/**
 * When SQLite cannot write (another process holds the lock, the disk is full, the file is
 * read-only), a request gets a clear 503 with Retry-After, nothing is acknowledged that was not
 * stored, and the shop recovers by itself once the cause is gone.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { addToCart, cartOf, startTestApp } from "../test/harness.ts";

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
