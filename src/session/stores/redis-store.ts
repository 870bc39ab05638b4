/**
 * The Redis session store (SESSION_STORE=redis): the same record as the SQLite row, as JSON, under
 * `<prefix>s:<sha256(ID)>`, with Redis's own expiry (PXAT = expiresAt, which is already the earlier
 * of the idle and the absolute deadline), so the cleanup job has nothing to do here.
 *
 * Atomicity. `update` and `rekey` run a JavaScript callback on the freshest record. WATCH/MULTI
 * would re-run the callback on a conflict — and the callback may have side effects (checkout places
 * the order inside it), so it must run exactly once. Instead each read-modify-write takes a short
 * per-session lock and reads the record in the same script, then writes through a *fenced* script:
 * the write happens only if the lock is still ours and the record still exists, and the record, its
 * TTL and the per-user index change in that one atomic step. A writer that was paused (SIGSTOP, a GC
 * pause, a slow link) past its lock's expiry therefore loses; it can never overwrite what the next
 * lock holder wrote. A destroyed record is never re-created (no resurrection after logout).
 *
 * Deadlines. node-redis keeps waiting for a reply once a command is on the wire, so a frozen Redis
 * would hang requests forever. Every call here races its own deadline (REDIS_TIMEOUT_MS) and becomes
 * a StoreUnavailableError (the 503 page) when it passes. Every write script also carries that deadline
 * and checks it against Redis's own clock: a write that reaches Redis after we gave up (it sat in a
 * socket buffer while Redis was frozen) is refused, so "nothing was saved" stays true.
 *
 * Listings never use KEYS (it blocks Redis): "your sessions" uses a per-user set of keys, cleaned
 * lazily; the instructor's table uses SCAN.
 */
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { RedisClientType } from "redis";
import { StoreUnavailableError } from "../../errors.ts";
import type { ListedSession, ServerStore } from "../directory.ts";
import type { StoredSession } from "../types.ts";

/** What createClient() returns with no modules or scripts: RESP3, no type mapping. */
// biome-ignore lint/complexity/noBannedTypes: the empty object types are node-redis's own way to say "no modules, functions or scripts".
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

export interface RedisStoreOptions {
  prefix?: string;
  /** How long one Redis call may take before the shopper gets a 503 (REDIS_TIMEOUT_MS). */
  timeoutMs?: number;
  /**
   * How long a per-session lock lives. Short on purpose: if the holder dies (kill -9), the next
   * request of that shopper gets the lock within this time. Fencing makes a short lock safe.
   */
  lockMs?: number;
  /** The most one store operation may take in all, waiting for the lock included (≤ 3 s to a 503). */
  budgetMs?: number;
}

// The time on Redis's own clock, in ms. Writes compare it with the caller's deadline (ARGV[1]).
const LATE = `local t = redis.call('TIME')
local late = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1])
`;

/** Lock and read in one round trip. → {-1} too late, {0} locked by someone else, {1, record|nil}. */
const LOCK_AND_GET = `${LATE}if late then return {-1} end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return {1, redis.call('GET', KEYS[2])} end
return {0}`;

/** Delete the lock only if it is still ours (it may have expired and been taken by someone else). */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Shared head of the fenced writes: release our lock, then refuse if late (-1) or if the lock was
// not ours any more (-2: someone else may have written since we read), or the record is gone (0).
const FENCE = `${LATE}local mine = redis.call('GET', KEYS[2]) == ARGV[2]
if mine then redis.call('DEL', KEYS[2]) end
if late then return -1 end
if not mine then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
`;

/** KEYS record, lock, user set · ARGV deadline, token, json, pxat, member, indexed? */
const FENCED_UPDATE = `${FENCE}redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4])
if ARGV[6] == '1' then redis.call('SADD', KEYS[3], ARGV[5]) end
return 1`;

/** KEYS old record, lock, new record, old user set, new user set · ARGV deadline, token, json, pxat, old member, new member, old indexed?, new indexed? */
const FENCED_REKEY = `${FENCE}if not redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PXAT', ARGV[4]) then return -3 end
redis.call('DEL', KEYS[1])
if ARGV[7] == '1' then redis.call('SREM', KEYS[4], ARGV[5]) end
if ARGV[8] == '1' then redis.call('SADD', KEYS[5], ARGV[6]) end
return 1`;

/** KEYS record, user set · ARGV deadline, json, pxat, member, indexed? → 1, 0 (exists), -1 (late) */
const CREATE = `${LATE}if late then return -1 end
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PXAT', ARGV[3]) then return 0 end
if ARGV[5] == '1' then redis.call('SADD', KEYS[2], ARGV[4]) end
return 1`;

/** Compare-and-set, for touch: only if the record is still exactly what we read. */
const TOUCH = `${LATE}if late then return -1 end
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4])
return 1`;

const DESTROY = `${LATE}if late then return -1 end
return redis.call('DEL', KEYS[1])`;

/**
 * KEYS user set · ARGV deadline, record prefix, user id, only, except. The record keys are built
 * inside the script, which a single Redis allows (a cluster would need hash tags).
 */
const DESTROY_FOR_USER = `${LATE}if late then return -1 end
local removed = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if (ARGV[4] == '' or k == ARGV[4]) and (ARGV[5] == '' or k ~= ARGV[5]) then
    local v = redis.call('GET', ARGV[2] .. k)
    if v and cjson.decode(v).userId == tonumber(ARGV[3]) then removed = removed + redis.call('DEL', ARGV[2] .. k) end
    redis.call('SREM', KEYS[1], k)
  end
end
return removed`;

const sha1 = (source: string) => createHash("sha1").update(source).digest("hex");
const flag = (on: boolean) => (on ? "1" : "0");

export function createRedisStore(client: RedisClient, options: RedisStoreOptions = {}): ServerStore {
  const { prefix = "shop:", timeoutMs = 1_500, lockMs = 2_000, budgetMs = 2_700 } = options;
  const recordKey = (key: string) => `${prefix}s:${key}`;
  const lockKey = (key: string) => `${prefix}lock:${key}`;
  const userKey = (userId: number | null) => `${prefix}u:${userId ?? "-"}`;
  const parse = (json: string | null) => (json === null ? null : (JSON.parse(json) as StoredSession));
  const live = (s: StoredSession | null, now: number) => (s && s.expiresAt > now ? s : null);

  /**
   * One Redis call against the clock: it must answer by min(timeout, what is left of `budgetEnd`).
   * `work` gets the deadline (epoch ms) to hand to a fenced script. When the timer fires, the reply
   * gets one more look (setImmediate runs after the event loop has read the sockets): after a pause of
   * this process, a reply that is already here wins over a deadline that passed while we were frozen.
   */
  async function call<T>(work: (deadline: number) => Promise<T>, budgetEnd = Date.now() + timeoutMs): Promise<T> {
    const ms = Math.min(timeoutMs, budgetEnd - Date.now());
    if (ms <= 0) throw new StoreUnavailableError(new Error("no time left for the session store"));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => setImmediate(() => reject(new Error(`Redis did not answer within ${ms} ms`))), ms);
    });
    try {
      return await Promise.race([work(Date.now() + ms), timeout]);
    } catch (error) {
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** EVALSHA, falling back to EVAL after a Redis restart emptied its script cache. */
  function script(source: string) {
    const sha = sha1(source);
    return async (keys: string[], args: (string | number)[]) => {
      const options = { keys, arguments: args.map(String) };
      try {
        return await client.evalSha(sha, options);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return client.eval(source, options);
        throw error;
      }
    };
  }
  const lockAndGet = script(LOCK_AND_GET);
  const unlock = script(UNLOCK);
  const fencedUpdate = script(FENCED_UPDATE);
  const fencedRekey = script(FENCED_REKEY);
  const createScript = script(CREATE);
  const touchScript = script(TOUCH);
  const destroyScript = script(DESTROY);
  const destroyForUserScript = script(DESTROY_FOR_USER);

  /** A fenced write answered: 1 done, 0 record gone; anything else means nothing was written. */
  const written = (reply: unknown, what: string): boolean => {
    if (reply === 1) return true;
    if (reply === 0) return false;
    const why = reply === -1 ? "reached Redis after its deadline" : reply === -2 ? "lost its lock (this instance was too slow)" : `answered ${String(reply)}`;
    throw new StoreUnavailableError(new Error(`${what} refused: it ${why}`));
  };

  // Requests of one visitor on this instance queue here instead of spinning on the Redis lock.
  const tails = new Map<string, Promise<void>>();
  async function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (done = resolve)));
    tails.set(key, tail);
    try {
      await previous;
      return await work();
    } finally {
      done();
      if (tails.get(key) === tail) tails.delete(key);
    }
  }

  /**
   * Lock `key`, read its record, run `work` on it (exactly once), and let `work` write through a
   * fenced script that releases the lock. Waits for another holder until the budget runs out.
   */
  async function locked<T>(key: string, work: (current: StoredSession | null, token: string, budgetEnd: number) => Promise<T>): Promise<T> {
    const budgetEnd = Date.now() + budgetMs;
    return inTurn(key, async () => {
      const token = randomBytes(12).toString("base64url");
      for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
        const reply = (await call((deadline) => lockAndGet([lockKey(key), recordKey(key)], [deadline, token, lockMs]), budgetEnd)) as [number, string | null];
        if (reply[0] === 1) {
          try {
            return await work(parse(reply[1] ?? null), token, budgetEnd);
          } catch (error) {
            // `work` failed before its fenced write (or the write failed): free the lock for the next request.
            await call(() => unlock([lockKey(key)], [token])).catch(() => {});
            throw error;
          }
        }
        if (reply[0] === -1) throw new StoreUnavailableError(new Error("lock request reached Redis after its deadline"));
        if (Date.now() + wait >= budgetEnd - timeoutMs / 4) {
          throw new StoreUnavailableError(new Error(`session ${key.slice(0, 8)} stayed locked for ${budgetMs} ms`));
        }
        await sleep(wait);
      }
    });
  }

  const releaseUnused = (key: string, token: string) => call(() => unlock([lockKey(key)], [token]));

  /** SCAN, never KEYS, with every round trip under the deadline. */
  async function scanAll(): Promise<ListedSession[]> {
    const listed: ListedSession[] = [];
    let cursor = "0";
    do {
      const page = await call(() => client.scan(cursor, { MATCH: `${prefix}s:*`, COUNT: 500 }));
      cursor = String(page.cursor);
      if (page.keys.length === 0) continue;
      const values = await call(() => client.mGet(page.keys));
      values.forEach((json, i) => {
        const s = parse(json);
        if (s) listed.push({ key: page.keys[i]!.slice(`${prefix}s:`.length), ...s });
      });
    } while (cursor !== "0");
    return listed;
  }

  return {
    kind: "redis",
    async get(key, now) {
      return live(parse(await call(() => client.get(recordKey(key)))), now);
    },
    async peek(key) {
      // Redis deletes a record the moment it expires, so there is never an expired one to show.
      return parse(await call(() => client.get(recordKey(key))));
    },
    async create(key, session) {
      const reply = await call((deadline) =>
        createScript([recordKey(key), userKey(session.userId)], [deadline, JSON.stringify(session), session.expiresAt, key, flag(session.userId !== null)]),
      );
      if (reply === -1) throw new StoreUnavailableError(new Error("create reached Redis after its deadline"));
      if (reply !== 1) throw new Error("session key collision");
    },
    async update(key, now, change) {
      return locked(key, async (stored, token, budgetEnd) => {
        const current = live(stored, now);
        if (!current) {
          await releaseUnused(key, token);
          return null;
        }
        const next = change(current); // exactly once, under the lock
        const reply = await call(
          (deadline) =>
            fencedUpdate(
              [recordKey(key), lockKey(key), userKey(next.userId)],
              [deadline, token, JSON.stringify(next), next.expiresAt, key, flag(next.userId !== null)],
            ),
          budgetEnd,
        );
        return written(reply, "session write") ? next : null; // 0: destroyed meanwhile, never re-created
      });
    },
    async rekey(oldKey, newKey, now, change) {
      return locked(oldKey, async (stored, token, budgetEnd) => {
        const current = live(stored, now);
        if (!current) {
          await releaseUnused(oldKey, token);
          return null;
        }
        const next = change(current);
        // The new ID is born and the old one dies in one script, and only if the old record still
        // exists at that moment: a logout that landed meanwhile (on any instance) is final.
        const reply = await call(
          (deadline) =>
            fencedRekey(
              [recordKey(oldKey), lockKey(oldKey), recordKey(newKey), userKey(current.userId), userKey(next.userId)],
              [deadline, token, JSON.stringify(next), next.expiresAt, oldKey, newKey, flag(current.userId !== null), flag(next.userId !== null)],
            ),
          budgetEnd,
        );
        if (reply === -3) throw new Error("session key collision");
        return written(reply, "session rekey") ? next : null;
      });
    },
    async touch(key, lastSeenAt, expiresAt) {
      // No lock: a touch only moves times forward, so it is a compare-and-set on what we just read.
      const json = await call(() => client.get(recordKey(key)));
      const current = parse(json);
      if (!current || current.lastSeenAt >= lastSeenAt) return false;
      const next = JSON.stringify({ ...current, lastSeenAt, expiresAt });
      const reply = await call((deadline) => touchScript([recordKey(key)], [deadline, json!, next, expiresAt]));
      if (reply === -1) throw new StoreUnavailableError(new Error("touch reached Redis after its deadline"));
      return reply === 1; // 0: changed meanwhile, and that change moved last-seen itself
    },
    async destroy(key) {
      const reply = await call((deadline) => destroyScript([recordKey(key)], [deadline]));
      if (reply === -1) throw new StoreUnavailableError(new Error("destroy reached Redis after its deadline"));
    },
    async deleteExpired() {
      return 0; // Redis expires keys itself
    },
    async listByUser(userId, now) {
      const keys = await call(() => client.sMembers(userKey(userId)));
      if (keys.length === 0) return [];
      const values = await call(() => client.mGet(keys.map(recordKey)));
      const listed: ListedSession[] = [];
      const stale: string[] = [];
      values.forEach((json, i) => {
        const s = live(parse(json), now);
        if (s && s.userId === userId) listed.push({ key: keys[i]!, ...s });
        else stale.push(keys[i]!);
      });
      if (stale.length > 0) await call(() => client.sRem(userKey(userId), stale));
      return listed.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async destroyForUser(userId, { only, except }) {
      // One script: only records that really belong to this user are deleted.
      const reply = await call((deadline) => destroyForUserScript([userKey(userId)], [deadline, `${prefix}s:`, userId, only ?? "", except ?? ""]));
      if (typeof reply !== "number" || reply < 0) throw new StoreUnavailableError(new Error("destroyForUser reached Redis after its deadline"));
      return reply;
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
