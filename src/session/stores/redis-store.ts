/**
 * The Redis session store (SESSION_STORE=redis): the same record as the SQLite row, as JSON, under
 * `<prefix>s:<sha256(ID)>`, with Redis's own expiry (PEXPIREAT = expiresAt, which is already the
 * earlier of the idle and the absolute deadline), so the cleanup job has nothing to do here.
 *
 * Atomicity. `update` and `rekey` run a JavaScript callback on the freshest record. WATCH/MULTI
 * would re-run the callback on a conflict — and the callback may have side effects (checkout places
 * the order inside it), so it must run exactly once. Instead, each read-modify-write holds a short
 * per-session lock (SET NX PX, released by a compare-and-delete script): writes of one visitor are
 * serialised across every app instance, and writes of different visitors never wait for each other.
 * The write itself is `SET … XX`, so it never re-creates a record that a logout deleted meanwhile
 * (no resurrection; a destroy does not need the lock).
 *
 * Listings never use KEYS (it blocks Redis): "your sessions" uses a per-user set of keys, cleaned
 * lazily; the instructor's table uses SCAN.
 *
 * Failures: every command error (Redis down, timed out) becomes a StoreUnavailableError, which the
 * app turns into a 503 page with nothing acknowledged.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { RedisClientType } from "redis";
import type { ListedSession, SessionStore, StoredSession } from "../types.js";

/** What createClient() returns with no modules or scripts: RESP3, no type mapping. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

/** Redis did not answer: a 503, never an empty cart. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
  constructor(cause: unknown) {
    super("The session store (Redis) is unavailable", { cause });
  }
}

const LOCK_MS = 5_000;
const LOCK_WAIT_MS = 3_000;
// Delete the lock only if it is still ours (it may have expired and been taken by someone else).
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export function createRedisStore(client: RedisClient, { prefix = "shop:" }: { prefix?: string } = {}): SessionStore {
  const recordKey = (key: string) => `${prefix}s:${key}`;
  const lockKey = (key: string) => `${prefix}lock:${key}`;
  const userKey = (userId: number) => `${prefix}u:${userId}`;
  const parse = (json: string | null) => (json === null ? null : (JSON.parse(json) as StoredSession));

  /** Run a Redis call; a connection problem becomes StoreUnavailableError. */
  async function r<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const token = randomBytes(12).toString("base64url");
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if ((await r(() => client.set(lockKey(key), token, { NX: true, PX: LOCK_MS }))) === "OK") break;
      if (Date.now() > deadline) throw new StoreUnavailableError(new Error(`session ${key.slice(0, 8)} stayed locked for ${LOCK_WAIT_MS} ms`));
      await sleep(wait);
    }
    try {
      return await work();
    } finally {
      await r(() => client.eval(UNLOCK, { keys: [lockKey(key)], arguments: [token] })).catch(() => {});
    }
  }

  const live = (s: StoredSession | null, now: number) => (s && s.expiresAt > now ? s : null);

  /** Store a record that already exists (XX): false when it was deleted meanwhile. */
  const replace = async (key: string, s: StoredSession) =>
    (await r(() => client.set(recordKey(key), JSON.stringify(s), { XX: true, PXAT: s.expiresAt }))) === "OK";

  const indexUser = async (key: string, s: StoredSession) => {
    if (s.userId !== null) await r(() => client.sAdd(userKey(s.userId!), key));
  };

  async function scanAll(): Promise<ListedSession[]> {
    const listed: ListedSession[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}s:*`, COUNT: 500 })) {
      const keys = (Array.isArray(batch) ? batch : [batch]) as string[];
      if (keys.length === 0) continue;
      const values = await r(() => client.mGet(keys));
      values.forEach((json, i) => {
        const s = parse(json);
        if (s) listed.push({ key: keys[i]!.slice(`${prefix}s:`.length), ...s });
      });
    }
    return listed;
  }

  return {
    kind: "redis",
    async get(key, now) {
      return live(parse(await r(() => client.get(recordKey(key)))), now);
    },
    async peek(key) {
      // Redis deletes a record the moment it expires, so there is never an expired one to show.
      return parse(await r(() => client.get(recordKey(key))));
    },
    async create(key, session) {
      const ok = await r(() => client.set(recordKey(key), JSON.stringify(session), { NX: true, PXAT: session.expiresAt }));
      if (ok !== "OK") throw new Error("session key collision");
      await indexUser(key, session);
    },
    async update(key, now, change) {
      return withLock(key, async () => {
        const current = live(parse(await r(() => client.get(recordKey(key)))), now);
        if (!current) return null;
        const next = change(current); // exactly once, under the lock
        if (!(await replace(key, next))) return null; // destroyed meanwhile: never re-created
        await indexUser(key, next);
        return next;
      });
    },
    async rekey(oldKey, newKey, now, change) {
      return withLock(oldKey, async () => {
        const current = live(parse(await r(() => client.get(recordKey(oldKey)))), now);
        if (!current) return null;
        const next = change(current);
        // The new ID is born and the old one dies in one MULTI: no moment with both or neither.
        const multi = client.multi().set(recordKey(newKey), JSON.stringify(next), { NX: true, PXAT: next.expiresAt }).del(recordKey(oldKey));
        if (current.userId !== null) multi.sRem(userKey(current.userId), oldKey);
        await r(() => multi.exec());
        await indexUser(newKey, next);
        return next;
      });
    },
    async touch(key, lastSeenAt, expiresAt) {
      return withLock(key, async () => {
        const current = parse(await r(() => client.get(recordKey(key))));
        if (!current || current.lastSeenAt >= lastSeenAt) return false;
        return replace(key, { ...current, lastSeenAt, expiresAt });
      });
    },
    async destroy(key) {
      await r(() => client.del(recordKey(key)));
    },
    async deleteExpired() {
      return 0; // Redis expires keys itself
    },
    async listByUser(userId, now) {
      const keys = await r(() => client.sMembers(userKey(userId)));
      if (keys.length === 0) return [];
      const values = await r(() => client.mGet(keys.map(recordKey)));
      const listed: ListedSession[] = [];
      const stale: string[] = [];
      values.forEach((json, i) => {
        const s = live(parse(json), now);
        if (s && s.userId === userId) listed.push({ key: keys[i]!, ...s });
        else stale.push(keys[i]!);
      });
      if (stale.length > 0) await r(() => client.sRem(userKey(userId), stale));
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async destroyForUser(userId, { only, except }) {
      const keys = await r(() => client.sMembers(userKey(userId)));
      const chosen = keys.filter((k) => (only === undefined || k === only) && (except === undefined || k !== except));
      let removed = 0;
      for (const key of chosen) {
        // Only a record that really belongs to this user is deleted.
        const s = parse(await r(() => client.get(recordKey(key))));
        if (s?.userId === userId) removed += await r(() => client.del(recordKey(key)));
        await r(() => client.sRem(userKey(userId), key));
      }
      return removed;
    },
    async listAll(limit) {
      return (await scanAll()).sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, limit);
    },
    async stats(now) {
      // "Expired" can only be seen here when the shop's clock runs ahead of Redis's (the demo clock).
      const all = await scanAll();
      const live = all.filter((s) => s.expiresAt > now).length;
      return { live, expired: all.length - live };
    },
  };
}
