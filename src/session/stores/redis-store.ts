/**
 * The Redis session store (SESSION_STORE=redis): the same record as the SQLite row, as JSON, under
 * `<prefix>s:<sha256(ID)>`, with Redis's own expiry (PXAT = expiresAt, which is already the earlier
 * of the idle and the absolute deadline), so the cleanup job has nothing to do here.
 *
 * Atomicity. `update` and `rekey` run a JavaScript callback on the freshest record, in one of two ways.
 *
 * The locked path (rekey, an update with `once`, and every fallback): take a short per-session lock
 * and read the record in one script, run the callback once, then write through a *fenced* script:
 * the write happens only if the lock is still ours and the record still exists, and the record, its
 * TTL and the per-user index change in that one atomic step. A writer that was paused (SIGSTOP, a GC
 * pause, a slow link) past its lock's expiry therefore loses; it can never overwrite what the next
 * lock holder wrote. Two round trips, and the callback runs only after Redis has answered, which is
 * what checkout needs (its callback places the order: it must run exactly once, and not at all while
 * Redis is frozen).
 *
 * The optimistic path (every other update, when this instance remembers the record's JSON from the
 * request's own read or its last write): run the callback on that remembered copy and send ONE
 * compare-and-set script, which writes only if the record is still byte for byte the remembered one
 * and nobody holds the lock (a lock holder's fenced write does not compare, so writing under its feet
 * would let it erase our change). On a mismatch the same script takes the lock and returns the
 * current JSON, so the fallback is the locked path minus its read: the callback runs again on the
 * fresh record (the first result is discarded, never written) and the fenced write follows. When the
 * lock is held by another writer, the fallback waits for it like any locked write. So the callback
 * may run twice (types.ts says so); callers with side effects pass `once`.
 *
 * Either way a destroyed record is never re-created (no resurrection after logout).
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
import { bounded } from "../speed/bounded.ts";
import type { StoredSession } from "../types.ts";

/** What createClient() returns with no modules or scripts: RESP3, no type mapping. */
// biome-ignore lint/complexity/noBannedTypes: the empty object types are node-redis's own way to say "no modules, functions or scripts".
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

/** The remembered records' text may hold at most this much (UTF-16: 2 bytes a character): a crowd of full carts cannot grow it past this. */
export const REMEMBERED_JSON_MAX_BYTES = 16 * 1024 * 1024;

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
  /** How many records' JSON this instance remembers for one-script updates (least recently used out first). */
  rememberKeys?: number;
  /** How many bytes of that JSON it may hold in all (REMEMBERED_JSON_MAX_BYTES unless given). */
  rememberBytes?: number;
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

/**
 * The one round trip of an uncontended update: compare-and-set against the JSON this instance last
 * saw. KEYS record, lock, user set · ARGV deadline, expected json, json, pxat, member, indexed?,
 * token, lock ms → {1} written, {0} record gone, {-1} late, {-2} another writer holds the lock,
 * {2, current} changed meanwhile: the lock is now ours (token) and `current` is what it guards.
 */
const CAS_UPDATE = `${LATE}if late then return {-1} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {-2} end
local current = redis.call('GET', KEYS[1])
if not current then return {0} end
if current ~= ARGV[2] then
  redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[8])
  return {2, current}
end
redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4])
if ARGV[6] == '1' then redis.call('SADD', KEYS[3], ARGV[5]) end
return {1}`;

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
  const { prefix = "shop:", timeoutMs = 1_500, lockMs = 2_000, budgetMs = 2_700, rememberKeys = 10_000, rememberBytes = REMEMBERED_JSON_MAX_BYTES } = options;
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
  const casUpdate = script(CAS_UPDATE);
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

  // A lock token only has to be unique (it says whose lock it is), not secret: whoever can send
  // commands to Redis can delete any lock anyway. A random prefix per store and a counter, then,
  // rather than a CSPRNG draw per write.
  const tokenPrefix = randomBytes(12).toString("base64url");
  let tokenCount = 0;
  const newToken = () => `${tokenPrefix}.${(tokenCount++).toString(36)}`;

  // The JSON this instance last read or wrote for each key: what an optimistic update expects to
  // find. Only ever a hint: a stale entry (another instance wrote since) makes the compare-and-set
  // fail over to the locked path, never write. Bounded in entries and bytes (the speed-ups' one
  // bounded map), the least recently used first out, so that a crowd of sessions cannot grow it.
  const seen = bounded<string, string>(rememberKeys, { maxBytes: rememberBytes, sizeOf: (json) => json.length * 2 });
  const remember = (key: string, json: string | null) => (json === null ? seen.delete(key) : seen.set(key, json));

  const releaseUnused = (key: string, token: string) => call(() => unlock([lockKey(key)], [token]));

  /** Take `key`'s lock and read its record in one script; waits for another holder until the budget runs out. */
  async function lockAndRead(key: string, budgetEnd: number): Promise<{ token: string; json: string | null }> {
    const token = newToken();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const reply = (await call((deadline) => lockAndGet([lockKey(key), recordKey(key)], [deadline, token, lockMs]), budgetEnd)) as [number, string | null];
      if (reply[0] === 1) return { token, json: reply[1] ?? null };
      if (reply[0] === -1) throw new StoreUnavailableError(new Error("lock request reached Redis after its deadline"));
      if (Date.now() + wait >= budgetEnd - timeoutMs / 4) {
        throw new StoreUnavailableError(new Error(`session ${key.slice(0, 8)} stayed locked for ${budgetMs} ms`));
      }
      await sleep(wait);
    }
  }

  /** Run `work` holding the lock `token`. If it fails before its fenced write released the lock, free the lock for the next request. */
  async function holding<T>(key: string, token: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      await call(() => unlock([lockKey(key)], [token])).catch(() => {});
      throw error;
    }
  }

  /** Lock `key`, read its record, run `work` on it (exactly once), and let `work` write through a fenced script that releases the lock. */
  async function locked<T>(key: string, work: (current: StoredSession | null, token: string, budgetEnd: number) => Promise<T>): Promise<T> {
    const budgetEnd = Date.now() + budgetMs;
    return inTurn(key, async () => {
      const { token, json } = await lockAndRead(key, budgetEnd);
      return holding(key, token, () => work(parse(json), token, budgetEnd));
    });
  }

  type Change = (current: StoredSession) => StoredSession;

  /** The locked path's second half: `json` was read under the lock `token`; change it (once) and write it fenced. */
  function changeUnderLock(key: string, json: string | null, token: string, now: number, change: Change, budgetEnd: number) {
    return holding(key, token, async () => {
      remember(key, json); // the freshest copy, whatever `change` decides
      const current = live(parse(json), now);
      if (!current) {
        await releaseUnused(key, token);
        return null;
      }
      const next = change(current); // once, on the record the lock guards
      const nextJson = JSON.stringify(next);
      const reply = await call(
        (deadline) =>
          fencedUpdate([recordKey(key), lockKey(key), userKey(next.userId)], [deadline, token, nextJson, next.expiresAt, key, flag(next.userId !== null)]),
        budgetEnd,
      );
      if (!written(reply, "session write")) return null; // 0: destroyed meanwhile, never re-created
      remember(key, nextJson);
      return next;
    });
  }

  /** What the one-script attempt came to: done (written, or the record is gone), or the locked path, with the lock already ours or not. */
  type Attempt = { done: true; value: StoredSession | null } | { done: false; lockedRead?: { token: string; json: string } };

  /** `change` on the remembered copy, written by one compare-and-set script if the record is still exactly that copy. */
  async function optimistic(key: string, expected: string, now: number, change: Change, budgetEnd: number): Promise<Attempt> {
    // Expired by our copy: only the fresh record can tell whether another instance kept it alive.
    const base = live(parse(expected), now);
    if (!base) return { done: false };
    let next: StoredSession;
    try {
      next = change(base);
    } catch {
      return { done: false }; // a refusal must rest on the freshest record, not on a copy that may be outdated
    }
    const json = JSON.stringify(next);
    const token = newToken();
    const reply = (await call(
      (deadline) =>
        casUpdate(
          [recordKey(key), lockKey(key), userKey(next.userId)],
          [deadline, expected, json, next.expiresAt, key, flag(next.userId !== null), token, lockMs],
        ),
      budgetEnd,
    )) as [number, string?];
    switch (reply[0]) {
      case 1:
        remember(key, json);
        return { done: true, value: next };
      case 0:
        return { done: true, value: null }; // destroyed or expired meanwhile: never re-created
      case 2:
        return { done: false, lockedRead: { token, json: reply[1]! } }; // changed meanwhile: `next` is discarded
      case -2:
        return { done: false }; // another writer holds the lock: wait for it like any locked write
      default:
        throw new StoreUnavailableError(
          new Error(`session write refused: ${reply[0] === -1 ? "it reached Redis after its deadline" : `answered ${String(reply[0])}`}`),
        );
    }
  }

  /** Optimistic first when we remember the record (and `change` may run twice), else (or on a conflict) locked. */
  async function update(key: string, now: number, change: Change, once: boolean): Promise<StoredSession | null> {
    const budgetEnd = Date.now() + budgetMs;
    return inTurn(key, async () => {
      try {
        const expected = once ? undefined : seen.get(key);
        if (expected !== undefined) {
          const attempt = await optimistic(key, expected, now, change, budgetEnd);
          if (attempt.done) {
            if (!attempt.value) remember(key, null);
            return attempt.value;
          }
          if (attempt.lockedRead) return await changeUnderLock(key, attempt.lockedRead.json, attempt.lockedRead.token, now, change, budgetEnd);
        }
        const { token, json } = await lockAndRead(key, budgetEnd);
        return await changeUnderLock(key, json, token, now, change, budgetEnd);
      } catch (error) {
        // The outcome is unknown (a timeout may hide a write that landed): start the next write from a fresh read.
        if (error instanceof StoreUnavailableError) remember(key, null);
        throw error;
      }
    });
  }

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
      const json = await call(() => client.get(recordKey(key)));
      remember(key, json); // what this request's write will expect to find
      return live(parse(json), now);
    },
    async peek(key) {
      // Redis deletes a record the moment it expires, so there is never an expired one to show.
      return parse(await call(() => client.get(recordKey(key))));
    },
    async create(key, session) {
      const json = JSON.stringify(session);
      const reply = await call((deadline) =>
        createScript([recordKey(key), userKey(session.userId)], [deadline, json, session.expiresAt, key, flag(session.userId !== null)]),
      );
      if (reply === -1) throw new StoreUnavailableError(new Error("create reached Redis after its deadline"));
      if (reply !== 1) throw new Error("session key collision");
      remember(key, json);
    },
    update(key, now, change, options) {
      return update(key, now, change, options?.once === true);
    },
    async rekey(oldKey, newKey, now, change) {
      return locked(oldKey, async (stored, token, budgetEnd) => {
        const current = live(stored, now);
        if (!current) {
          await releaseUnused(oldKey, token);
          return null;
        }
        const next = change(current);
        const json = JSON.stringify(next);
        remember(oldKey, null); // moved, or unknown after a failure: its next write starts from a fresh read
        // The new ID is born and the old one dies in one script, and only if the old record still
        // exists at that moment: a logout that landed meanwhile (on any instance) is final.
        const reply = await call(
          (deadline) =>
            fencedRekey(
              [recordKey(oldKey), lockKey(oldKey), recordKey(newKey), userKey(current.userId), userKey(next.userId)],
              [deadline, token, json, next.expiresAt, oldKey, newKey, flag(current.userId !== null), flag(next.userId !== null)],
            ),
          budgetEnd,
        );
        if (reply === -3) throw new Error("session key collision");
        if (!written(reply, "session rekey")) return null;
        remember(newKey, json);
        return next;
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
      remember(key, reply === 1 ? next : null);
      return reply === 1; // 0: changed meanwhile, and that change moved last-seen itself
    },
    async destroy(key) {
      remember(key, null);
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
