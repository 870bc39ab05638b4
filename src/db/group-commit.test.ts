/**
 * Group commit (group-commit.ts) on a real SQLite file, through the SQLite session store: the
 * writes of one event-loop turn share one transaction, keep their order, fail alone when their
 * own work throws, and are answered only once the commit is on disk.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import Database from "better-sqlite3";
import { freshDatabase } from "../test/harness.ts";
import { createSqliteSessionStore } from "../session/technique.ts";
import type { SessionData, StoredSession } from "../session/types.ts";
import { createGroupCommit } from "./group-commit.ts";
import type { Db } from "./open.ts";

let db: Db;
let file: string;
let dir: string;
/** A second connection to the same file: it sees only what has been committed. */
let other: Db;
beforeEach(() => {
  ({ db, file, dir } = freshDatabase());
  other = new Database(file);
});
afterEach(() => {
  other.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = 1_000_000;
const record = (productIds: number[] = []): StoredSession => ({
  data: { cart: productIds.map((productId) => ({ productId, quantity: 1 })) },
  userId: null,
  createdAt: NOW,
  lastSeenAt: NOW,
  expiresAt: NOW + 60_000,
  userAgent: null,
});
// Stores keep whatever data they are given (sealing happens above them, in storage.ts): plaintext here.
const cartOf = (s: StoredSession) => (s.data as SessionData).cart;
const add = (productId: number) => (s: StoredSession) => ({ ...s, data: { cart: [...cartOf(s), { productId, quantity: 1 }] } });
const committedCart = (key: string) => {
  const row = other.prepare("SELECT data FROM sessions WHERE id_hash = ?").get(key) as { data: string } | undefined;
  return row ? (JSON.parse(row.data) as SessionData).cart.map((l) => l.productId) : null;
};

describe("group commit", () => {
  it("concurrent changes of one session in one group all land, and each is answered only after the commit", async () => {
    const store = createSqliteSessionStore(db);
    await store.create("k", record());
    const seenAtAnswer: (number[] | null)[] = [];
    // All issued in the same turn: one group. Each answer looks through the other connection.
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((id) => store.update("k", NOW, add(id)).then(() => seenAtAnswer.push(committedCart("k")))));
    assert.deepEqual(committedCart("k"), [1, 2, 3, 4, 5, 6, 7, 8], "nothing lost, in arrival order");
    for (const seen of seenAtAnswer) assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8], "answered after the whole group committed");
  });

  it("one group is one transaction: a second connection sees none of it until all of it", async () => {
    const group = createGroupCommit(db);
    const insert = db.prepare(
      "INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent) VALUES (?, '{\"cart\":[]}', NULL, 0, 0, 9e15, NULL)",
    );
    const count = () => (other.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n;
    const during: number[] = [];
    const works = ["a", "b", "c"].map((k) =>
      group.run(() => {
        insert.run(k);
        during.push(count()); // inside the transaction: the other connection sees nothing yet
      }),
    );
    await Promise.all(works);
    assert.deepEqual(during, [0, 0, 0]);
    assert.equal(count(), 3);
  });

  it("a change that throws fails alone: nothing of it is written, the rest of the group commits", async () => {
    const store = createSqliteSessionStore(db);
    await store.create("k", record());
    const refusing = () => {
      throw new Error("out of stock");
    };
    const results = await Promise.allSettled([
      store.update("k", NOW, add(1)),
      store.update("k", NOW, (s) => {
        add(99)(s);
        return refusing();
      }),
      store.update("k", NOW, add(2)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.deepEqual(committedCart("k"), [1, 2]);
  });

  it("a work alone in its group that wrote and then threw leaves nothing behind, and the next group commits", async () => {
    const store = createSqliteSessionStore(db);
    await store.create("k", record([1]));
    const group = createGroupCommit(db);
    const alone = group.run(() => {
      db.prepare("UPDATE sessions SET data = ? WHERE id_hash = 'k'").run(JSON.stringify({ cart: [] }));
      throw new Error("refused after writing");
    });
    await assert.rejects(alone, /refused after writing/);
    assert.equal(db.inTransaction, false, "the connection is not left inside a transaction");
    assert.deepEqual(committedCart("k"), [1], "the write made before the throw was rolled back");
    await store.update("k", NOW, add(2));
    assert.deepEqual(committedCart("k"), [1, 2]);
  });

  it("a logout inside a group is final: the add queued after it finds no row and writes nothing", async () => {
    const store = createSqliteSessionStore(db);
    await store.create("k", record());
    const [before, , after] = await Promise.all([store.update("k", NOW, add(1)), store.destroy("k"), store.update("k", NOW, add(2))]);
    assert.deepEqual(
      (before ? cartOf(before) : undefined)?.map((l) => l.productId),
      [1],
      "the add queued before the logout was applied",
    );
    assert.equal(after, null, "the add queued after the logout is refused (storage answers 409)");
    assert.equal(committedCart("k"), null, "no resurrection");
  });

  it("a login inside a group keeps order: the add before it moves to the new key, the add after it on the old key is refused", async () => {
    const store = createSqliteSessionStore(db);
    await store.create("old", record());
    const [before, moved, lateOnOld, onNew] = await Promise.all([
      store.update("old", NOW, add(1)),
      store.rekey("old", "new", NOW, (s) => ({ ...s, userId: null })),
      store.update("old", NOW, add(2)),
      store.update("new", NOW, add(3)),
    ]);
    assert.ok(before && moved);
    assert.deepEqual(
      cartOf(moved).map((l) => l.productId),
      [1],
    );
    assert.equal(lateOnOld, null);
    assert.deepEqual(
      (onNew ? cartOf(onNew) : undefined)?.map((l) => l.productId),
      [1, 3],
    );
    assert.equal(committedCart("old"), null);
    assert.deepEqual(committedCart("new"), [1, 3]);
  });

  it("a login whose savepoint rolls back inside a group leaves no trace: not in the table, not in what the store answers", async () => {
    // Found by reading b96973a: its read cache kept the new key's staged row after the savepoint rolled back.
    const store = createSqliteSessionStore(db);
    await store.create("old", record([1]));
    db.exec("CREATE TEMP TRIGGER refuse BEFORE DELETE ON main.sessions WHEN OLD.id_hash = 'old' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const [other, login] = await Promise.allSettled([store.create("other", record()), store.rekey("old", "new", NOW, (s) => s)]);
    assert.equal(other.status, "fulfilled", "the rest of the group commits");
    assert.equal(login.status, "rejected", "the login fails alone");
    assert.equal(committedCart("new"), null);
    assert.equal(await store.get("new", NOW), null, "no record the database does not hold");
    assert.deepEqual(
      cartOf((await store.get("old", NOW))!).map((l) => l.productId),
      [1],
      "the old session is as it was",
    );
  });

  it("when the group cannot commit, every caller fails and nothing is written", async () => {
    const group = createGroupCommit(db);
    db.pragma("busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE"); // another connection holds the write lock
    const insert = db.prepare(
      "INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent) VALUES (?, '{}', NULL, 0, 0, 0, NULL)",
    );
    const results = await Promise.allSettled(["a", "b"].map((k) => group.run(() => insert.run(k))));
    other.exec("ROLLBACK");
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.match(String((r as PromiseRejectedResult).reason?.code), /^SQLITE_BUSY/);
    }
    assert.equal((other.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n, 0);
  });
});
