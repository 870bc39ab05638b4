/**
 * One suite, every store: whatever technique keeps the sessions, these promises hold.
 * (connect-redis's lifecycle test, made into a loop.) The memory and SQLite stores run it in
 * src/session/store-contract.test.ts (no server needed), Redis in stores/redis-store-contract.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashSessionId, newSessionId } from "../session/id.ts";
import type { ServerStore } from "../session/directory.ts";
import type { CartLine, SessionData, StoredSession } from "../session/types.ts";

// A year ahead of the real clock, whole minutes. Not a fixed date: Redis expires keys by the real
// clock (PXAT), so a fixed T0 would make every Redis record vanish on arrival once that date passed.
const T0 = Math.ceil((Date.now() + 365 * 24 * 3600_000) / 60_000) * 60_000;
const record = (over: Partial<StoredSession> = {}): StoredSession => ({
  data: { cart: [{ productId: 1, quantity: 2 }] },
  userId: null,
  createdAt: T0,
  lastSeenAt: T0,
  expiresAt: T0 + 60_000,
  userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156",
  ...over,
});
const key = () => hashSessionId(newSessionId());
// Stores keep whatever data they are given (sealing happens above them, in storage.ts): plaintext here.
const cartOf = (s: StoredSession) => (s.data as SessionData).cart;

/** The contract's tests for one store; `make` gives a fresh, empty store each call. */
export function storeContract(name: string, make: () => ServerStore): void {
  describe(`${name} session store`, () => {
    it("returns null for an unknown key", async () => {
      assert.equal(await make().get(key(), T0), null);
    });

    it("returns what was created, as a copy or frozen: changing a loaded record changes nothing stored", async () => {
      const store = make();
      const k = key();
      await store.create(k, record({ userId: null }));
      const got = await store.get(k, T0 + 1);
      assert.deepEqual(got, record());
      try {
        (cartOf(got!) as CartLine[]).push({ productId: 9, quantity: 9 }); // what the types forbid, tried anyway
      } catch (error) {
        assert.ok(error instanceof TypeError, "a frozen record refuses the change (memory store)");
      }
      assert.deepEqual((await store.get(k, T0 + 1))!.data, record().data, "mutating a loaded copy changes nothing stored");
    });

    it("refuses to create the same key twice", async () => {
      const store = make();
      const k = key();
      await store.create(k, record());
      await assert.rejects(store.create(k, record()));
    });

    it("returns null once the session has expired", async () => {
      const store = make();
      const k = key();
      await store.create(k, record({ expiresAt: T0 + 1000 }));
      assert.ok(await store.get(k, T0 + 999));
      assert.equal(await store.get(k, T0 + 1000), null);
    });

    it("updates atomically from the freshest copy", async () => {
      const store = make();
      const k = key();
      await store.create(k, record());
      const addLine = (productId: number) => (s: StoredSession) => ({ ...s, data: { cart: [...cartOf(s), { productId, quantity: 1 }] } });
      await Promise.all([store.update(k, T0, addLine(2)), store.update(k, T0, addLine(3)), store.update(k, T0, addLine(4))]);
      const ids = cartOf((await store.get(k, T0))!)
        .map((l) => l.productId)
        .sort();
      assert.deepEqual(ids, [1, 2, 3, 4]);
    });

    it("never re-creates a destroyed or expired session on update", async () => {
      const store = make();
      const k = key();
      await store.create(k, record());
      await store.destroy(k);
      assert.equal(await store.update(k, T0, (s) => s), null);
      assert.equal(await store.get(k, T0), null);
      const e = key();
      await store.create(e, record({ expiresAt: T0 + 10 }));
      assert.equal(await store.update(e, T0 + 10, (s) => ({ ...s, expiresAt: T0 + 99_999 })), null);
      assert.equal(await store.get(e, T0 + 11), null);
    });

    it("writes nothing when the change function throws", async () => {
      const store = make();
      const k = key();
      await store.create(k, record());
      await assert.rejects(
        store.update(k, T0, () => {
          throw new Error("refused");
        }),
        /refused/,
      );
      assert.deepEqual(await store.get(k, T0), record());
    });

    it("rekeys atomically: the data moves, the old key is dead", async () => {
      const store = make();
      const oldKey = key();
      const newKey = key();
      await store.create(oldKey, record());
      const moved = await store.rekey(oldKey, newKey, T0, (s) => ({ ...s, lastSeenAt: T0 + 5 }));
      assert.equal(moved?.lastSeenAt, T0 + 5);
      assert.equal(await store.get(oldKey, T0), null);
      assert.deepEqual((await store.get(newKey, T0))?.data, record().data);
      assert.equal(await store.rekey(oldKey, key(), T0, (s) => s), null, "a dead key cannot be rekeyed");
    });

    it("touches only existing sessions, and never backwards", async () => {
      const store = make();
      const k = key();
      await store.create(k, record());
      assert.equal(await store.touch(k, T0 + 500, T0 + 60_500), true);
      assert.equal(await store.touch(k, T0 + 100, T0 + 60_100), false, "an older touch arriving late is ignored");
      const got = await store.get(k, T0);
      assert.equal(got?.lastSeenAt, T0 + 500);
      assert.equal(got?.expiresAt, T0 + 60_500);
      assert.equal(await store.touch(key(), T0, T0 + 1), false);
    });

    it("destroys one session; destroying an unknown key is fine", async () => {
      const store = make();
      const a = key();
      const b = key();
      await store.create(a, record());
      await store.create(b, record());
      await store.destroy(a);
      await store.destroy(key());
      assert.equal(await store.get(a, T0), null);
      assert.ok(await store.get(b, T0));
    });

    it("deletes exactly the expired sessions, in batches of at most the limit", async (t) => {
      const store = make();
      if (store.kind === "redis") {
        t.diagnostic("redis: Redis's own TTL removes expired records; the cleanup job has nothing to do");
        const k = key();
        await store.create(k, record({ createdAt: Date.now(), lastSeenAt: Date.now(), expiresAt: Date.now() + 150 }));
        assert.ok(await store.peek(k));
        // A real wait, on purpose: Redis expires keys by its own clock (PXAT), which no injected
        // clock can move. Poll until the real TTL has passed (150 ms), giving up after 5 s.
        for (const end = Date.now() + 5_000; (await store.peek(k)) !== null && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
        assert.equal(await store.peek(k), null, "gone without any sweep");
        assert.equal(await store.deleteExpired(Date.now(), 10), 0);
        return;
      }
      const live = [key(), key()];
      const dead = Array.from({ length: 25 }, key);
      for (const k of live) await store.create(k, record({ expiresAt: T0 + 10_000 }));
      for (const [i, k] of dead.entries()) await store.create(k, record({ expiresAt: T0 + i }));
      assert.equal(await store.deleteExpired(T0 + 100, 10), 10);
      assert.equal(await store.deleteExpired(T0 + 100, 10), 10);
      assert.equal(await store.deleteExpired(T0 + 100, 10), 5);
      assert.equal(await store.deleteExpired(T0 + 100, 10), 0);
      for (const k of live) assert.ok(await store.get(k, T0), "live sessions stay");
    });

    it("lists a user's live sessions, most recent first, and nobody else's", async () => {
      const store = make();
      const [a, b, c, d] = [key(), key(), key(), key()];
      await store.create(a, record({ userId: 1, lastSeenAt: T0 + 1 }));
      await store.create(b, record({ userId: 1, lastSeenAt: T0 + 5 }));
      await store.create(c, record({ userId: 2 }));
      await store.create(d, record({ userId: 1, expiresAt: T0 + 2 }));
      const listed = await store.listByUser(1, T0 + 3);
      assert.deepEqual(
        listed.map((s) => s.key),
        [b, a],
      );
      assert.equal(listed[0]!.userAgent, record().userAgent);
    });

    it("ends one, or all but one, of a user's sessions, never another user's", async () => {
      const store = make();
      const [a, b, c, other] = [key(), key(), key(), key()];
      for (const k of [a, b, c]) await store.create(k, record({ userId: 1 }));
      await store.create(other, record({ userId: 2 }));
      assert.equal(await store.destroyForUser(1, { only: other }), 0, "someone else's key is refused");
      assert.equal(await store.destroyForUser(1, { only: a }), 1);
      assert.equal(await store.destroyForUser(1, { except: b }), 1);
      assert.deepEqual(
        (await store.listByUser(1, T0)).map((s) => s.key),
        [b],
      );
      assert.ok(await store.get(other, T0));
    });

    it("peeks at an expired record that is still stored, without making it live again", async () => {
      const store = make();
      const k = key();
      await store.create(k, record({ expiresAt: T0 + 1_000 }));
      assert.equal(await store.get(k, T0 + 5_000), null, "expired: not returned by get");
      assert.equal((await store.peek(k))?.expiresAt, T0 + 1_000, "but peek explains why");
      assert.equal(await store.get(k, T0 + 5_000), null, "peeking adopted nothing");
      assert.equal(await store.peek(key()), null);
    });

    it("lists every stored record for the instructor, most recent first, and counts live and expired", async () => {
      const store = make();
      const [old, recent, dead] = [key(), key(), key()];
      await store.create(old, record({ lastSeenAt: T0 + 1 }));
      await store.create(recent, record({ lastSeenAt: T0 + 2, userId: 1 }));
      await store.create(dead, record({ lastSeenAt: T0, expiresAt: T0 + 10 }));
      const listed = await store.listAll(10);
      assert.deepEqual(
        listed.map((s) => s.key),
        [recent, old, dead],
      );
      assert.equal(listed[0]!.userId, 1);
      assert.deepEqual(
        (await store.listAll(1)).map((s) => s.key),
        [recent],
        "the limit is honoured",
      );
      assert.deepEqual(await store.stats(T0 + 100), { live: 2, expired: 1 });
    });
  });
}
