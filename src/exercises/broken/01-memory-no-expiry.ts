/**
 * Exercise 1's start file, solved — with the classic mistake: `get` never looks at expiresAt
 * (the source texts' `var sessions = {}`). It trusts the sweeper to remove expired sessions, so
 * between sweeps a timed-out session is still served. exercise-graders.test.ts proves the grader
 * fails it for that reason, and only that.
 */
import type { ListedSession, ServerStore } from "../../session/directory.ts";
import type { StoredSession } from "../../session/types.ts";

export function createStore(): ServerStore {
  const records = new Map<string, StoredSession>();
  const live = (key: string, now: number) => {
    const r = records.get(key);
    return r && r.expiresAt > now ? r : null;
  };

  return {
    kind: "memory",
    async get(key) {
      const r = records.get(key); // THE MISTAKE: no `r.expiresAt > now` check
      return r ? structuredClone(r) : null;
    },
    async peek(key) {
      const r = records.get(key);
      return r ? structuredClone(r) : null;
    },
    async create(key, session) {
      if (records.has(key)) throw new Error("session key collision");
      records.set(key, structuredClone(session));
    },
    async update(key, now, change) {
      const current = live(key, now);
      if (!current) return null;
      const next = change(structuredClone(current));
      records.set(key, structuredClone(next));
      return next;
    },
    async rekey(oldKey, newKey, now, change) {
      const current = live(oldKey, now);
      if (!current) return null;
      const next = change(structuredClone(current));
      records.delete(oldKey);
      records.set(newKey, structuredClone(next));
      return next;
    },
    async touch(key, lastSeenAt, expiresAt) {
      const r = records.get(key);
      if (!r || r.lastSeenAt >= lastSeenAt) return false;
      records.set(key, { ...r, lastSeenAt, expiresAt });
      return true;
    },
    async destroy(key) {
      records.delete(key);
    },
    async deleteExpired(now, limit) {
      let removed = 0;
      for (const [key, r] of records) {
        if (removed >= limit) break;
        if (r.expiresAt <= now) {
          records.delete(key);
          removed++;
        }
      }
      return removed;
    },
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
