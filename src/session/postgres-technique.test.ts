/**
 * What the PostgreSQL technique adds, over real HTTP with SESSION_STORE=postgres: two shop instances
 * on one database, and the classroom's views of it (the X-ray's PostgreSQL lane, the dashboard's
 * sweep, lab 15). The shop (createShop, as npm start builds it) on a real PostgreSQL cluster of this
 * file's own, a fresh database per test, a manual clock. First, the suites every server-side technique
 * runs (SQLite and memory in session-lifecycle.test.ts and cookie-attacks.test.ts): the lifecycle and
 * the hostile cookies, here on PostgreSQL, with what `SELECT * FROM sessions` shows.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { addToCart, Client, register, startTestApp } from "../test/harness.ts";
import { INSTRUCTOR_PASSWORD, instructorOn } from "../test/classroom.ts";
import { cookieAttacksSuite } from "../test/cookie-attacks-suite.ts";
import { sessionLifecycleSuite } from "../test/lifecycle-suite.ts";
import { closeTechniques } from "../test/techniques.ts";
import { type PostgresServer, startPostgresServer } from "../test/postgres-server.ts";
import { fingerprint } from "./id.ts";

type App = Awaited<ReturnType<typeof startTestApp>>;
type Row = { id_hash: string; data: string; user_id: number | null; last_seen_at: string; expires_at: string };

let server: PostgresServer;
const apps: App[] = [];
before(async () => {
  server = await startPostgresServer();
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});
after(() => server.close());
after(closeTechniques); // the suites' own cluster

sessionLifecycleSuite("postgres");
cookieAttacksSuite("postgres");

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

describe("postgres technique: across instances", () => {
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
