/**
 * Exercise 3: a session store on a server many shops share — Redis.
 *
 * Each session is one Redis string, `<prefix>s:<key>`, holding the record as JSON, with Redis's own
 * expiry set to the record's expiresAt (SET … PXAT): Redis deletes it on time, so there is nothing to
 * sweep. Several shop processes share this Redis, so "no await between read and write" (exercise 1)
 * and "one transaction" (exercise 2) are gone: between your GET and your SET, another process may
 * write. The tool here is compare-and-set: write only if the record is still what you read, else
 * read again and retry. The Lua scripts that do the comparing are given (Redis runs a script as one
 * step); write the parts marked TODO. Then:
 *
 *   npm run exercise -- 3            grade this file (starts a throwaway redis-server)
 *   SESSION_STORE=./exercises/03-redis-store/start.ts REDIS_URL=redis://127.0.0.1:6379 npm start
 */
import type { ListedSession, ServerStore } from "../../src/session/directory.ts";
import type { StoredSession } from "../../src/session/types.ts";
import type { StoreDeps } from "../../src/exercises/exercises.ts";

// Given. KEYS[1] record · ARGV[1] the JSON you read, ARGV[2] the JSON to write, ARGV[3] its expiresAt.
// → 1 written; 0 the record is gone (never re-create it); -1 someone changed it since you read (retry).
export const COMPARE_AND_SET = `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`;

// Given. KEYS[1] old record, KEYS[2] new record · ARGV as above → 1 moved (old deleted); 0 gone; -1 changed; -2 new key taken.
export const COMPARE_AND_MOVE = `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PXAT', ARGV[3]) then return -2 end
redis.call('DEL', KEYS[1])
return 1`;

export async function createStore({ connectRedis, prefix }: Pick<StoreDeps, "connectRedis" | "prefix">): Promise<ServerStore> {
  const redis = await connectRedis();
  const recordKey = (key: string) => `${prefix}s:${key}`;
  const parse = (json: string | null) => (json === null ? null : (JSON.parse(json) as StoredSession));
  /** Runs one of the scripts above: KEYS and ARGV as strings. */
  // biome-ignore lint/correctness/noUnusedVariables: given for your update, rekey and touch; unused until you write them
  const script = async (source: string, keys: string[], args: (string | number)[]) => Number(await redis.eval(source, { keys, arguments: args.map(String) }));

  /** Given: every stored record (SCAN, never KEYS: it does not freeze Redis on a big database). */
  async function scanAll(): Promise<ListedSession[]> {
    const listed: ListedSession[] = [];
    let cursor = "0";
    do {
      const page = await redis.scan(cursor, { MATCH: `${prefix}s:*`, COUNT: 500 });
      cursor = String(page.cursor);
      if (page.keys.length === 0) continue;
      const values = await redis.mGet(page.keys);
      values.forEach((json, i) => {
        const s = parse(json);
        if (s) listed.push({ key: page.keys[i]!.slice(`${prefix}s:`.length), ...s });
      });
    } while (cursor !== "0");
    return listed;
  }

  // Your helpers go here (e.g. `live(record, now)`). A script call: script(COMPARE_AND_SET, [recordKey(key)], [read, next, expiresAt]).

  return {
    kind: "redis",

    // TODO 1 (expiry): GET the record; null when none OR expired at `now` (the shop's clock may run
    // ahead of Redis's: the classroom's demo clock does). JSON.parse already gives you a copy.
    async get(_key, _now) {
      throw new Error("TODO 1: get — GET, parse, null when none or expired at now");
    },

    async peek(key) {
      return parse(await redis.get(recordKey(key)));
    },

    // TODO 2: SET the JSON with NX (only if the key is free) and PXAT expiresAt. When SET answers
    // null the key was taken: throw.
    async create(_key, _session) {
      throw new Error("TODO 2: create — SET … NX PXAT expiresAt; throw when the key is taken");
    },

    // TODO 3 (the heart of it): loop: GET the JSON; if the record is gone or expired at `now`,
    // return null; next = change(record); run COMPARE_AND_SET with the JSON you read. 1: return
    // next. 0: gone meanwhile (signed out): return null, write nothing. -1: another request wrote
    // since your GET: go round again (your `change` runs again on the fresh copy — that is fine, it
    // is pure). A plain SET here would overwrite the other request's add to cart.
    async update(_key, _now, _change) {
      throw new Error("TODO 3: update — GET, change, COMPARE_AND_SET, retry on -1; null when gone");
    },

    // TODO 4 (sign-in): the same loop with COMPARE_AND_MOVE from recordKey(oldKey) to recordKey(newKey).
    // -2 means the new key was taken: throw.
    async rekey(_oldKey, _newKey, _now, _change) {
      throw new Error("TODO 4: rekey — GET, change, COMPARE_AND_MOVE, retry on -1");
    },

    // TODO 5: GET; false when gone or when the stored lastSeenAt is not older than `lastSeenAt`;
    // else COMPARE_AND_SET the record with the new lastSeenAt and expiresAt; true only if written
    // (on -1 someone else wrote — and moved lastSeenAt themselves: answering false is fine).
    async touch(_key, _lastSeenAt, _expiresAt) {
      throw new Error("TODO 5: touch — forward only, with COMPARE_AND_SET");
    },

    async destroy(key) {
      await redis.del(recordKey(key));
    },

    // Given: Redis removes a record at its PXAT by itself; there is nothing left for a sweeper.
    async deleteExpired() {
      return 0;
    },

    // Given: the listings, by SCAN (fine for a classroom; the shop's own Redis store keeps a set per user).
    async listByUser(userId, now) {
      return (await scanAll()).filter((s) => s.userId === userId && s.expiresAt > now).sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async destroyForUser(userId, { only, except }) {
      const doomed = (await scanAll()).filter((s) => s.userId === userId && (only === undefined || s.key === only) && s.key !== except);
      if (doomed.length === 0) return 0;
      return redis.del(doomed.map((s) => recordKey(s.key)));
    },
    async listAll(limit) {
      return (await scanAll()).sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, limit);
    },
    async stats(now) {
      const all = await scanAll();
      const live = all.filter((s) => s.expiresAt > now).length;
      return { live, expired: all.length - live };
    },
  };
}
