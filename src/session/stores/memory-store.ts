/**
 * The memory session store: a Map in this process. Fast and simple, and the source texts'
 * `var sessions = {}` done properly. Trade-offs, said plainly: single process only, and every
 * session is lost when the server restarts.
 *
 * Records are kept as frozen copies, so a caller cannot change what is stored through an object
 * it got from `get` (strict-mode code gets a TypeError): the only way in is create/update/rekey, as
 * with SQLite. (JSON strings did the same at a JSON.stringify per write and a JSON.parse per read.)
 * Expired records are ignored on read and removed by deleteExpired (the cleanup job).
 */
import type { ListedSession, ServerStore } from "../directory.ts";
import type { StoredSession } from "../types.ts";
import { frozenCopy } from "../freeze.ts";

export function createMemoryStore(): ServerStore & { readonly size: number } {
  const records = new Map<string, StoredSession>();
  const put = (key: string, s: StoredSession) => records.set(key, frozenCopy(s));

  const live = (key: string, now: number): StoredSession | null => {
    const record = records.get(key);
    return record === undefined || record.expiresAt <= now ? null : record;
  };

  return {
    kind: "memory",
    get size() {
      return records.size;
    },
    async get(key, now) {
      return live(key, now);
    },
    async peek(key) {
      return records.get(key) ?? null;
    },
    async create(key, session) {
      if (records.has(key)) throw new Error("session key collision");
      put(key, session);
    },
    // Read, change and write happen in one synchronous stretch: no other request can run in between.
    async update(key, now, change) {
      const current = live(key, now);
      if (!current) return null;
      const next = change(current);
      put(key, next);
      return next;
    },
    async rekey(oldKey, newKey, now, change) {
      const current = live(oldKey, now);
      if (!current) return null;
      const next = change(current);
      put(newKey, next);
      records.delete(oldKey);
      return next;
    },
    async touch(key, lastSeenAt, expiresAt) {
      const record = records.get(key);
      if (record === undefined) return false;
      if (record.lastSeenAt >= lastSeenAt) return false;
      records.set(key, Object.freeze({ ...record, lastSeenAt, expiresAt })); // its data is already a frozen copy
      return true;
    },
    async destroy(key) {
      records.delete(key);
    },
    async deleteExpired(now, limit) {
      let removed = 0;
      for (const [key, record] of records) {
        if (removed >= limit) break;
        if (record.expiresAt <= now) {
          records.delete(key);
          removed++;
        }
      }
      return removed;
    },
    async listByUser(userId, now) {
      const listed: ListedSession[] = [];
      for (const [key, record] of records) {
        if (record.expiresAt <= now) continue;
        if (record.userId === userId) listed.push({ key, ...record });
      }
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async destroyForUser(userId, { only, except }) {
      let removed = 0;
      for (const [key, record] of records) {
        if (only !== undefined && key !== only) continue;
        if (except !== undefined && key === except) continue;
        if (record.userId !== userId) continue;
        records.delete(key);
        removed++;
      }
      return removed;
    },
    async listAll(limit) {
      const listed: ListedSession[] = [];
      for (const [key, record] of records) listed.push({ key, ...record });
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, limit);
    },
    async stats(now) {
      let live = 0;
      for (const record of records.values()) if (record.expiresAt > now) live++;
      return { live, expired: records.size - live };
    },
  };
}
