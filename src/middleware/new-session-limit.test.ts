/**
 * Floods of new sessions: one client that drops its cookie and posts add-to-cart again and again
 * gets a friendly 429 after its share of new sessions; a shopper who has a session never does; a
 * classroom behind one address stays far below the default. The memory technique has a bound:
 * when full, new sessions get a 503 and every existing cart stays; the dashboard shows it.
 * Real HTTP, real SQLite files.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { addToCart, cartOf, startTestApp } from "../test/harness.ts";
import { INSTRUCTOR_PASSWORD, instructorOn } from "../test/classroom.ts";

const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
async function shop(env: Record<string, string>) {
  const app = await startTestApp(env);
  apps.push(app);
  return app;
}

describe("new sessions per client", () => {
  it("a client that keeps dropping its cookie gets a 429 with Retry-After after its share; nothing is stored for it", async () => {
    const app = await shop({ NEW_SESSIONS_PER_CLIENT: "5" });
    for (let i = 0; i < 5; i++) assert.equal((await addToCart(app.client(), 1, 1)).status, 303, `new session ${i + 1}`);
    const refused = await addToCart(app.client(), 1, 1);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${refused.headers.get("retry-after")}`);
    assert.match(refused.text, /Too many new shopping sessions have been started from your network/);
    assert.match(refused.text, /If you already have a cart in this browser, it is safe/);
    assert.equal(
      refused.setCookies.some((c) => c.startsWith("shop_sid=") && !/shop_sid=;/.test(c)),
      false,
      "no session cookie",
    );
    assert.equal(app.sessionRows().length, 5, "no row for the refused one");
  });

  it("a shopper who already has a session is never limited, even while newcomers from the same address are", async () => {
    const app = await shop({ NEW_SESSIONS_PER_CLIENT: "2" });
    const shopper = app.client();
    assert.equal((await addToCart(shopper, 1, 1)).status, 303);
    assert.equal((await addToCart(app.client(), 1, 1)).status, 303);
    assert.equal((await addToCart(app.client(), 1, 1)).status, 429, "the limit is reached");
    for (let i = 0; i < 10; i++) assert.equal((await addToCart(shopper, 2, 1)).status, 303);
    assert.deepEqual([...(await cartOf(shopper))].sort(), [
      [1, 1],
      [2, 10],
    ]);
  });

  it("at the default, a classroom of 40 behind one address, three browsers each, is never refused", async () => {
    const app = await shop({});
    const browsers = Array.from({ length: 120 }, () => app.client());
    const statuses = await Promise.all(browsers.map((b) => addToCart(b, 1, 1).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([303]));
  });
});

describe("the memory technique's bound", () => {
  it("when full, a new session gets a 503 saying why, existing carts keep working, and the dashboard shows it", async () => {
    const app = await shop({ SESSION_STORE: "memory", MEMORY_MAX_SESSIONS: "3", CLASSROOM: "1", INSTRUCTOR_PASSWORD });
    const guests = [app.client(), app.client(), app.client()];
    for (const g of guests) assert.equal((await addToCart(g, 1, 1)).status, 303);
    const teacher = await instructorOn(app, "/instructor"); // the instructor's pass is not a shopping session
    const full = await addToCart(app.client(), 1, 1);
    assert.equal(full.status, 503);
    assert.equal(full.headers.get("retry-after"), "60");
    assert.match(full.text, /it keeps at most 3 shopping sessions in memory and all are in use/);
    for (const g of guests) {
      assert.equal((await addToCart(g, 2, 1)).status, 303, "an existing cart is never evicted or refused");
      assert.deepEqual([...(await cartOf(g))].sort(), [
        [1, 1],
        [2, 1],
      ]);
    }
    const dashboard = await teacher.get("/instructor");
    assert.match(dashboard.text, /The memory store holds at most <strong>3<\/strong> sessions\s*\(100 % full\)/);
    assert.match(dashboard.text, /<strong data-testid="refused-count">1<\/strong> refused so far/);
  });
});

describe("the memory store when full", () => {
  it("drops expired records to make room before it refuses anyone", async () => {
    const { createMemoryStore, SessionStoreFullError } = await import("../session/stores/memory-store.ts");
    const store = createMemoryStore({ maxSessions: 2 });
    const record = (at: number, expiresAt: number) => ({ data: { cart: [] }, userId: null, createdAt: at, lastSeenAt: at, expiresAt, userAgent: null });
    await store.create("expired", record(0, 1_000));
    await store.create("live", record(0, 10_000));
    await store.create("new", record(2_000, 12_000)); // "expired" made room
    assert.equal(store.size, 2);
    assert.equal(await store.get("live", 2_000).then((s) => s?.expiresAt), 10_000, "the live one was kept");
    await assert.rejects(store.create("one too many", record(2_000, 12_000)), SessionStoreFullError);
    assert.deepEqual(await store.stats(2_000), { live: 2, expired: 0, capacity: { max: 2, refused: 1 } });
  });
});
