/**
 * Exercise 3's start file, solved — with the classic mistake: `update` reads with GET and writes
 * with a plain SET. Between the two, another request (another tab, another shop process) can write:
 * its add to cart is overwritten. exercise-graders.test.ts proves the grader fails it for that
 * reason, and only that.
 */
import type { ListedSession, ServerStore } from "../../session/directory.ts";
import type { StoredSession } from "../../session/types.ts";
import type { StoreDeps } from "../exercises.ts";

// Given. KEYS[1] record · ARGV[1] the JSON you read, ARGV[2] the JSON to write, ARGV[3] its expiresAt.
// → 1 written; 0 the record is gone (never re-create it); -1 someone changed it since you read (retry).
const COMPARE_AND_SET = `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`;

// Given. KEYS[1] old record, KEYS[2] new record · ARGV as above → 1 moved (old deleted); 0 gone; -1 changed; -2 new key taken.
const COMPARE_AND_MOVE = `local current = redis.call('GET', KEYS[1])
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

  const live = (s: StoredSession | null, now: number) => (s && s.expiresAt > now ? s : null);

  return {
    kind: "redis",

    async get(key, now) {
      return live(parse(await redis.get(recordKey(key))), now);
    },

    async peek(key) {
      return parse(await redis.get(recordKey(key)));
    },

    async create(key, session) {
      const reply = await redis.set(recordKey(key), JSON.stringify(session), { condition: "NX", expiration: { type: "PXAT", value: session.expiresAt } });
      if (reply === null) throw new Error("session key collision");
    },

    async update(key, now, change) {
      // THE MISTAKE: GET, then a plain SET of what this request computed — whatever another
      // request wrote in between is overwritten (and nothing checks the record still exists).
      const current = live(parse(await redis.get(recordKey(key))), now);
      if (!current) return null;
      const next = change(current);
      await redis.set(recordKey(key), JSON.stringify(next), { expiration: { type: "PXAT", value: next.expiresAt } });
      return next;
    },

    async rekey(oldKey, newKey, now, change) {
      for (;;) {
        const json = await redis.get(recordKey(oldKey));
        const current = live(parse(json), now);
        if (!current || json === null) return null;
        const next = change(current);
        const reply = await script(COMPARE_AND_MOVE, [recordKey(oldKey), recordKey(newKey)], [json, JSON.stringify(next), next.expiresAt]);
        if (reply === 1) return next;
        if (reply === 0) return null;
        if (reply === -2) throw new Error("session key collision");
      }
    },

    async touch(key, lastSeenAt, expiresAt) {
      const json = await redis.get(recordKey(key));
      const current = parse(json);
      if (!current || json === null || current.lastSeenAt >= lastSeenAt) return false;
      return (await script(COMPARE_AND_SET, [recordKey(key)], [json, JSON.stringify({ ...current, lastSeenAt, expiresAt }), expiresAt])) === 1;
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
