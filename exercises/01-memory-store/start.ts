/**
 * Exercise 1: a memory session store, with expiry and a sweeper.
 *
 * A Map in this process, keyed by sha256(session ID) (the shop hashes; you get the key). Write the
 * seven parts marked TODO; the listings at the bottom are given. Then:
 *
 *   npm run exercise -- 1                       grade this file with the shop's store contract
 *   SESSION_STORE=./exercises/01-memory-store/start.ts npm start    shop on it (once it passes)
 *
 * Times are epoch milliseconds and always passed in (`now`): never call Date.now() here, so the
 * tests and the classroom's clock can move time. The README says what each part must do and why.
 */
import type { ListedSession, ServerStore } from "../../src/session/directory.ts";
import type { StoredSession } from "../../src/session/types.ts";

export function createStore(): ServerStore {
  const records = new Map<string, StoredSession>();

  return {
    kind: "memory",

    // TODO 1 (expiry): the record under `key`, or null when there is none OR it has expired at `now`
    // (expiresAt <= now). Expired records stay in the Map until the sweeper runs, so this check is
    // what makes a session die on time. Hand out a copy (structuredClone) or a frozen record: a
    // request that changes what it loaded must not change what is stored.
    async get(_key, _now) {
      throw new Error("TODO 1: get — return the live record (a copy), or null when unknown or expired");
    },

    // TODO 2: like get, but also an expired record still in the Map (the shop uses it only to tell a
    // shopper "your session timed out"). Never makes the record live again.
    async peek(_key) {
      throw new Error("TODO 2: peek — return the record even if expired, or null");
    },

    // TODO 3: store a copy of `session` under `key`. A key that is already taken means a bug: throw.
    async create(_key, _session) {
      throw new Error("TODO 3: create — store a copy; throw if the key is taken");
    },

    // TODO 4 (the heart of it): read the live record, apply `change`, store the result, return it —
    // with no `await` between the read and the write, so no other request can slip in between and
    // lose an add to cart. When the record is gone or expired return null and write NOTHING: a
    // request racing a sign-out must not bring the session back. If `change` throws, write nothing.
    async update(_key, _now, _change) {
      throw new Error("TODO 4: update — read, change, write in one step; null (and no write) when gone");
    },

    // TODO 5 (sign-in): move the live record from `oldKey` to `newKey`, changed by `change`, and
    // delete `oldKey` in the same step. Null when `oldKey` is gone or expired.
    async rekey(_oldKey, _newKey, _now, _change) {
      throw new Error("TODO 5: rekey — move the record to the new key, the old key dead");
    },

    // TODO 6: set lastSeenAt and expiresAt on an existing record and return true — but only when
    // `lastSeenAt` is later than the stored one (a late, older touch must not pull the expiry back).
    // Never create a record. False when nothing was changed.
    async touch(_key, _lastSeenAt, _expiresAt) {
      throw new Error("TODO 6: touch — move lastSeenAt/expiresAt forward only, on an existing record");
    },

    async destroy(key) {
      records.delete(key);
    },

    // TODO 7 (the sweeper): delete at most `limit` records with expiresAt <= now and return how many.
    // The shop's cleanup job calls it again and again until it returns less than the limit, yielding
    // in between, so a huge backlog never stalls the shop for long.
    async deleteExpired(_now, _limit) {
      throw new Error("TODO 7: deleteExpired — remove up to `limit` expired records, return the count");
    },

    // Given: the listings for "your active sessions" and the instructor's dashboard.
    async listByUser(userId, now) {
      const listed: ListedSession[] = [];
      for (const [key, r] of records) if (r.userId === userId && r.expiresAt > now) listed.push({ key, ...structuredClone(r) });
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async destroyForUser(userId, { only, except }) {
      let removed = 0;
      for (const [key, r] of records) {
        if (r.userId !== userId || (only !== undefined && key !== only) || (except !== undefined && key === except)) continue;
        records.delete(key);
        removed++;
      }
      return removed;
    },
    async listAll(limit) {
      const listed: ListedSession[] = [];
      for (const [key, r] of records) listed.push({ key, ...structuredClone(r) });
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, limit);
    },
    async stats(now) {
      let live = 0;
      for (const r of records.values()) if (r.expiresAt > now) live++;
      return { live, expired: records.size - live };
    },
  };
}
