/**
 * The memory session store: a Map in this process. Fast and simple, and the source texts'
 * `var sessions = {}` done properly. Trade-offs, said plainly: single process only, and every
 * session is lost when the server restarts.
 *
 * Records are kept as frozen copies, so a caller cannot change what is stored through an object
 * it got from `get` (strict-mode code gets a TypeError): the only way in is create/update/rekey, as
 * with SQLite. (JSON strings did the same at a JSON.stringify per write and a JSON.parse per read.)
 * Expired records are ignored on read and removed by deleteExpired (the cleanup job).
 *
 * Bounded: at most `maxSessions` records (MEMORY_MAX_SESSIONS). When full, expired records are
 * dropped first; if that frees nothing, a NEW session is refused (503 "the shop is full"), and every
 * existing session keeps its cart. The alternative, evicting the longest-idle guest, lets a flood
 * of fresh sessions push out real shoppers who paused for a few minutes: their carts would vanish
 * for the attacker's benefit. Refusing newcomers for a while is the smaller harm. A flood measured
 * ~6.7 KB of RSS per session, so the default 20,000 holds about 130 MB.
 */
import { HttpError } from "../../errors.ts";
import type { ListedSession, ServerStore } from "../directory.ts";
import type { StoredSession } from "../types.ts";
import { frozenCopy } from "../freeze.ts";

/** The memory store is full: a new session cannot be kept. Nothing was saved; existing carts are untouched. */
export class SessionStoreFullError extends HttpError {
  constructor(max: number) {
    super(
      503,
      `The shop is very busy: it keeps at most ${max.toLocaleString("en-US")} shopping sessions in memory and all are in use, so this cart could not be started. Please try again in a minute.`,
      "The shop is full right now",
      { retryAfterSeconds: 60 },
    );
  }
}

export function createMemoryStore({ maxSessions = Number.POSITIVE_INFINITY } = {}): ServerStore & { readonly size: number } {
  const records = new Map<string, StoredSession>();
  const put = (key: string, s: StoredSession) => records.set(key, frozenCopy(s));
  let refused = 0;
  /** Room for one more: when full, drop what has expired (the sweep would soon); else refuse. */
  const makeRoom = (now: number) => {
    if (records.size < maxSessions) return;
    for (const [key, record] of records) if (record.expiresAt <= now) records.delete(key);
    if (records.size < maxSessions) return;
    refused++;
    throw new SessionStoreFullError(maxSessions);
  };

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
      makeRoom(session.lastSeenAt);
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
      const counts = { live, expired: records.size - live };
      return Number.isFinite(maxSessions) ? { ...counts, capacity: { max: maxSessions, refused } } : counts;
    },
  };
}
