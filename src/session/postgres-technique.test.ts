/**
 * The session lifecycle and the cookie attacks over real HTTP with SESSION_STORE=postgres: the
 * shop (createShop, as npm start builds it) on a real PostgreSQL cluster of this file's own, a
 * fresh database per test, a manual clock so expiry takes no waiting. What a shopper or an
 * instructor would notice, and what `SELECT * FROM sessions` shows.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sign } from "cookie-signature";
import pg from "pg";
import { addToCart, Client, register, SECRET_A, startTestApp } from "../test/harness.ts";
import { INSTRUCTOR_PASSWORD, instructorOn } from "../test/classroom.ts";
import { type PostgresServer, startPostgresServer } from "../test/postgres-server.ts";
import { fingerprint, hashSessionId, newSessionId } from "./id.ts";
import { sealFor } from "./seal.ts";

type App = Awaited<ReturnType<typeof startTestApp>>;
type Row = { id_hash: string; data: string; user_id: number | null; last_seen_at: string; expires_at: string };
const MINUTE = 60_000;

let server: PostgresServer;
const apps: App[] = [];
before(async () => {
  server = await startPostgresServer();
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});
after(() => server.close());

/** A shop on a fresh database of the cluster, and what its sessions table holds. */
async function shop(env: Record<string, string> = {}, url?: string, dir?: string) {
  const databaseUrl = url ?? (await server.database());
  const app = await startTestApp(
    {
      SESSION_STORE: "postgres",
      DATABASE_URL: databaseUrl,
      SESSION_IDLE_SECONDS: "1800",
      SESSION_ABSOLUTE_SECONDS: "7200",
      ...env,
    },
    { dir },
  );
  apps.push(app);
  const rows = async (): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query<Row>("SELECT * FROM sessions")).rows;
    } finally {
      await client.end();
    }
  };
  return { app, rows, databaseUrl };
}

describe("postgres technique: lifecycle", () => {
  it("browsing stores nothing; the first add creates one row keyed by sha256(ID), holding a sealed blob only the cookie's ID opens", async () => {
    const { app, rows } = await shop();
    const c = app.client();
    for (const path of ["/", "/categories/kitchen", "/cart"]) assert.equal((await c.get(path)).status, 200);
    assert.equal((await rows()).length, 0, "lazy creation");
    assert.equal((await addToCart(c, 1, 2)).status, 303);
    const [row, ...more] = await rows();
    assert.equal(more.length, 0);
    const id = c.sessionId()!;
    assert.equal(row!.id_hash, hashSessionId(id));
    assert.ok(!JSON.stringify(await rows()).includes(id), "the ID itself is nowhere in the table");
    const stored = JSON.parse(row!.data);
    assert.match(stored.sealed, /^v1\./, "the data column holds a sealed blob, not the cart");
    assert.deepEqual(sealFor(id, row!.id_hash).open(stored), { cart: [{ productId: 1, quantity: 2 }] });
  });

  it("registering moves the cart to a new ID in one step; the old cookie then gets nothing", async () => {
    const { app, rows } = await shop();
    const c = app.client();
    await addToCart(c, 1, 2);
    const oldCookie = c.cookies.get("shop_sid")!;
    const oldKey = c.sessionKey()!;
    await register(c);
    assert.notEqual(c.cookies.get("shop_sid"), oldCookie, "a new ID at sign-in: defeats fixation");
    const all = await rows();
    assert.deepEqual(
      all.map((r) => r.id_hash),
      [c.sessionKey()],
      "only the new row: the old one died in the same statement",
    );
    assert.ok(all[0]!.user_id !== null && all[0]!.id_hash !== oldKey);
    assert.equal(Client.badge((await c.get("/cart")).text), 2, "the cart came along");
    const replay = new Client(app.url);
    replay.cookies.set("shop_sid", oldCookie);
    assert.equal(Client.badge((await replay.get("/cart")).text), 0);
  });

  it("logout deletes the row; replaying the old cookie gets an empty cart and no row comes back", async () => {
    const { app, rows } = await shop();
    const c = app.client();
    await register(c);
    await addToCart(c, 1, 1);
    const before = c.cookies.get("shop_sid")!;
    await c.get("/");
    assert.equal((await c.post("/logout")).status, 303);
    assert.equal((await rows()).length, 0);
    const replay = new Client(app.url);
    replay.cookies.set("shop_sid", before);
    const page = await replay.get("/cart");
    assert.equal(Client.badge(page.text), 0);
    assert.doesNotMatch(page.text, /Signed in as/);
    assert.equal((await rows()).length, 0);
  });

  it("an idle session ends after the idle timeout, a busy one at the absolute timeout", async () => {
    const { app, rows } = await shop();
    const idle = app.client();
    const busy = app.client();
    await addToCart(idle, 1, 2);
    await addToCart(busy, 1, 1);
    for (let minute = 10; minute <= 110; minute += 10) {
      app.clock.advance(10 * MINUTE);
      assert.equal(Client.badge((await busy.get("/cart")).text), 1, `busy: active at minute ${minute}`);
    }
    assert.equal(Client.badge((await idle.get("/cart")).text), 0, "110 idle minutes: gone");
    app.clock.advance(15 * MINUTE);
    assert.equal(Client.badge((await busy.get("/cart")).text), 0, "125 minutes after creation: the absolute timeout (120) wins");
    assert.equal((await rows()).length, 0, "both expired rows deleted when their cookies came back");
  });

  it("page views write last-seen at most once per touch interval", async () => {
    const { app, rows } = await shop();
    const c = app.client();
    await addToCart(c, 1, 1);
    const seen = async () => Number((await rows())[0]!.last_seen_at);
    const created = await seen();
    const interval = app.config.touchIntervalMs;
    for (let i = 0; i < 5; i++) {
      app.clock.advance(interval / 10);
      await c.get("/");
    }
    assert.equal(await seen(), created, "five quick views: no write");
    app.clock.advance(interval);
    await c.get("/");
    assert.equal(await seen(), app.clock.now(), "after the interval one view writes");
    const row = (await rows())[0]!;
    assert.equal(Number(row.expires_at), Number(row.last_seen_at) + app.config.idleTimeoutMs);
  });

  it("two instances on one database share the cart and the sign-in; a logout on one is final on the other", async () => {
    const first = await shop();
    const { app: b } = await shop({}, first.databaseUrl, first.app.dir); // and one SQLite file (accounts, orders)
    const onA = first.app.client();
    await addToCart(onA, 1, 2);
    await register(onA);
    const onB = new Client(b.url);
    for (const [k, v] of onA.cookies) onB.cookies.set(k, v);
    const page = await onB.get("/cart");
    assert.equal(Client.badge(page.text), 2);
    assert.match(page.text, /Signed in as/);
    await onA.get("/");
    await onA.post("/logout");
    const after = await onB.get("/cart");
    assert.equal(Client.badge(after.text), 0);
    assert.doesNotMatch(after.text, /Signed in as/);
    assert.equal((await first.rows()).length, 0);
  });
});

describe("postgres technique: hostile cookies", () => {
  it("a tampered signature, a wrong secret, a never-issued ID and garbage each get a fresh empty session, never a 5xx nor a row", async () => {
    const { app, rows } = await shop();
    const victim = app.client();
    await addToCart(victim, 1, 3);
    const id = victim.sessionId()!;
    const values = [
      encodeURIComponent(`s:${sign(id, "another-secret-another-secret-another")}`),
      encodeURIComponent(`s:${sign(newSessionId(), SECRET_A)}`),
      `${victim.cookies.get("shop_sid")!.slice(0, -3)}AAA`,
      "%%%%%ZZ%E0%A4",
      `s%3A${"A".repeat(4000)}`,
    ];
    for (const value of values) {
      const c = new Client(app.url);
      c.cookies.set("shop_sid", value);
      const res = await c.get("/cart");
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}`);
      if (res.status === 200) assert.equal(Client.badge(res.text), 0);
    }
    assert.equal((await rows()).length, 1, "no row made for any of them");
    assert.equal(Client.badge((await victim.get("/cart")).text), 3, "the victim's cart is untouched");
  });
});

describe("postgres technique: in class", () => {
  it("the X-ray draws a PostgreSQL store lane: the lookup by hash, the sealed record, the atomic update", async () => {
    const { app } = await shop();
    const c = app.client();
    await c.get("/");
    await c.post("/xray", { on: "1", returnTo: "/" });
    await addToCart(c, 1, 1);
    await addToCart(c, 2, 1);
    const fp = fingerprint(c.sessionKey()!);
    const [now, before] = [...(await c.get("/cart")).text.matchAll(/<svg class="sequence"[\s\S]*?<\/svg>/g)].map((m) =>
      [...m[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]!),
    );
    assert.ok(now && before, "two pictures: this request and the one before");
    assert.deepEqual(now.slice(0, 3), ["Browser", "Shop", "PostgreSQL"]);
    assert.ok(now.includes(`get(sha256(ID) = ‹${fp}›)`), now.join(" | "));
    assert.ok(now.includes("sealed record"));
    assert.ok(before.includes(`update(‹${fp}›): atomic`), before.join(" | "));
  });

  it("the dashboard lists its sessions and counts them; after the demo clock passes the idle timeout, Sweep now removes them", async () => {
    const { app, rows } = await shop({ INSTRUCTOR_PASSWORD });
    const shopper = app.client();
    await addToCart(shopper, 1, 1);
    const teacher = await instructorOn(app, "/instructor");
    const page = (await teacher.get("/instructor")).text;
    assert.match(page, /data-testid="technique">postgres</);
    assert.match(page, new RegExp(`data-fingerprint="${fingerprint(shopper.sessionKey()!)}"`));
    assert.match(page, /data-testid="live-count">1</);
    // The dashboard's fast-forward: the shop's clock runs ahead of PostgreSQL's, and the later clock decides.
    assert.equal((await teacher.post("/instructor/clock", { minutes: "31" })).status, 303);
    assert.match((await teacher.get("/instructor")).text, /data-testid="expired-count">1</);
    const sweep = await teacher.post("/instructor/sweep");
    assert.equal(sweep.status, 303);
    assert.match((await teacher.get("/instructor")).text, /removed 1 expired session/);
    assert.equal((await rows()).length, 0, "the row is gone from PostgreSQL");
  });

  it("lab 15 names what a thief would copy here: the sessions table in PostgreSQL", async () => {
    const { app } = await shop({ INSTRUCTOR_PASSWORD });
    const c = app.client();
    await addToCart(c, 1, 1);
    const page = await c.get("/labs/15");
    assert.equal(page.status, 200);
    assert.match(page.text, /the sessions table in PostgreSQL \(what a pg_dump, a backup or a replica holds\)/);
    assert.doesNotMatch(page.text, /undefined/);
  });
});
