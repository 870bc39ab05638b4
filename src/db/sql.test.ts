/**
 * The Sql layer (src/db/sql.ts) that every data-access module is written against, on both databases:
 * the same statements give the same answers, a transaction is all or nothing, the dialect's
 * differences stay inside (placeholders, int8, RETURNING id, a UNIQUE violation). And on SQLite, a
 * statement that arrives while a transaction is open waits for it instead of landing inside it.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { migrate, seedCatalog } from "./migrate.ts";
import { openDatabase } from "./open.ts";
import { migratePostgres, seedPostgres } from "./pg-migrate.ts";
import { createPostgresDataRunner, createPostgresSql, createSqliteSql, isUniqueViolation, type Sql, toPostgres } from "./sql.ts";
import { DATA_STORES, type DataStore, postgresForData, root, tempDir } from "../test/harness.ts";

const postgres = postgresForData();
const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers) await close();
});

/** A migrated, seeded shop database of `data`'s kind, as the shop opens it. */
async function open(data: DataStore): Promise<Sql> {
  if (data === "sqlite") {
    const db = openDatabase(path.join(tempDir(), "shop.sqlite"));
    migrate(db, path.join(root, "db/migrations"));
    seedCatalog(db, path.join(root, "db/seed.sql"));
    closers.push(() => db.close());
    return createSqliteSql(db);
  }
  const { DATABASE_URL } = await postgres.env("postgres");
  const runner = createPostgresDataRunner({ connectionString: DATABASE_URL!, deadlineMs: 3000, max: 4 });
  closers.push(() => runner.close());
  await migratePostgres(runner, path.join(root, "db/migrations-postgres"));
  await seedPostgres(runner, path.join(root, "db/seed.sql"));
  return createPostgresSql(runner);
}

describe("placeholders for PostgreSQL", () => {
  it("numbers each ? in order, and leaves a ? inside a quoted string or identifier alone", () => {
    assert.equal(toPostgres("SELECT a FROM t WHERE b = ? AND c = ?"), "SELECT a FROM t WHERE b = $1 AND c = $2");
    assert.equal(toPostgres(`SELECT '?' AS "why?" FROM t WHERE x = ?`), `SELECT '?' AS "why?" FROM t WHERE x = $1`);
  });
});

for (const data of DATA_STORES) {
  describe(`one Sql, data on ${data}`, () => {
    it("reads rows, counts as numbers (int8 parsed), and reports rows changed", async () => {
      const sql = await open(data);
      const [first] = await sql.all<{ id: number; slug: string }>("SELECT id, slug FROM categories ORDER BY id LIMIT ?", [1]);
      assert.deepEqual(first, { id: 1, slug: "tea-coffee" });
      assert.deepEqual(await sql.get("SELECT count(*) AS n, sum(stock) AS units FROM products WHERE stock = ?", [0]), { n: 1, units: 0 });
      assert.equal(await sql.get("SELECT id FROM products WHERE slug = ?", ["no-such-product"]), undefined);
      assert.equal(
        await sql.run("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?", [1, 14, 1]),
        0,
        "sold out: the conditional UPDATE changes nothing",
      );
      assert.equal(await sql.run("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?", [1, 6, 1]), 1);
    });

    it("INSERT … RETURNING id gives the new id; a duplicate is a UNIQUE violation either way", async () => {
      const sql = await open(data);
      const a = await sql.get<{ id: number }>("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) RETURNING id", [
        "a@example.com",
        "x",
        Date.now(),
      ]);
      assert.equal(typeof a?.id, "number");
      await assert.rejects(sql.run("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)", ["a@example.com", "y", Date.now()]), (error) =>
        isUniqueViolation(error),
      );
      const none = await sql.get("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING id", [
        "a@example.com",
        "z",
        1,
      ]);
      assert.equal(none, undefined, "ON CONFLICT DO NOTHING returns no row");
    });

    it("a transaction that throws leaves nothing behind; one that returns commits everything", async () => {
      const sql = await open(data);
      const stock = async () => (await sql.get<{ stock: number }>("SELECT stock FROM products WHERE id = 1"))!.stock;
      const before = await stock();
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.run("UPDATE products SET stock = stock - 1 WHERE id = 1");
          throw new Error("payment declined");
        }),
        /payment declined/,
      );
      assert.equal(await stock(), before, "rolled back");
      const left = await sql.transaction(async (tx) => {
        await tx.run("UPDATE products SET stock = stock - 2 WHERE id = 1");
        return (await tx.get<{ stock: number }>("SELECT stock FROM products WHERE id = 1"))!.stock;
      });
      assert.equal(left, before - 2);
      assert.equal(await stock(), before - 2, "committed");
    });
  });
}

describe("the SQLite runner's transactions", () => {
  it("a statement or a transaction that arrives while one is open waits for it, and never lands inside it", async () => {
    const sql = await open("sqlite");
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = sql.transaction(async (tx) => {
      await tx.run("UPDATE products SET stock = 100 WHERE id = 2");
      events.push("first: updated");
      await held; // a transaction that awaits something else: the runner must keep others out meanwhile
      throw new Error("rolled back on purpose");
    });
    const read = sql.get<{ stock: number }>("SELECT stock FROM products WHERE id = 2").then((r) => events.push(`read: ${r!.stock}`));
    const second = sql.transaction(async (tx) => {
      events.push("second: began");
      await tx.run("UPDATE products SET stock = 50 WHERE id = 2");
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, ["first: updated"], "nothing else ran while the first was open");
    release();
    await assert.rejects(first, /on purpose/);
    await Promise.all([read, second]);
    assert.ok(events.includes("read: 31"), `the read waited, then saw the stock as committed, not the rolled-back 100: ${events}`);
    assert.ok(events.includes("second: began"), "the second transaction ran once the first had ended");
    assert.equal((await sql.get<{ stock: number }>("SELECT stock FROM products WHERE id = 2"))!.stock, 50);
  });
});
