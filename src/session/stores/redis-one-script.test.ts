/**
 * The Redis store's one-script write: an update of a record this instance remembers is a single
 * compare-and-set script, and every guarantee of the locked path still holds. Real redis-server,
 * real clients (one per "instance"), a real TCP proxy where a write must be slowed; Redis's own
 * INFO commandstats and keyspace notifications count what reached it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedisServer } from "../../test/redis-server.ts";
import { startTcpProxy } from "../../test/tcp-proxy.ts";
import { createRedisStore, type RedisClient, type RedisStoreOptions } from "./redis-store.ts";
import { cartOf, record, withProduct } from "../../test/records.ts";
import type { StoredSession } from "../types.ts";

const idsIn = (s: StoredSession | null) => (s ? cartOf(s).map((l) => l.productId) : null);
/** `change`, counting its runs and keeping the carts it was given. */
function counted(change: (s: StoredSession) => StoredSession) {
  const seen: number[][] = [];
  const run = (s: StoredSession) => {
    seen.push(idsIn(s)!);
    return change(s);
  };
  return Object.assign(run, { seen });
}
const key = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`.padEnd(64, "0");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

describe("redis store: one script per uncontended write", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  const clients: RedisClient[] = [];
  let raw: RedisClient;
  let lockEvents: string[] = [];
  let prefixes = 0;

  const connect = async (url: string) => {
    const client: RedisClient = createClient({ url, disableOfflineQueue: true });
    client.on("error", () => {});
    await client.connect();
    clients.push(client);
    return client;
  };
  /** Two "instances" (own connections, own memory of records) on the same keys; `a` may talk through the proxy. */
  async function instances(options: RedisStoreOptions & { aViaProxy?: boolean; bViaProxy?: boolean } = {}) {
    const prefix = `one${++prefixes}:`;
    const a = createRedisStore(await connect(options.aViaProxy ? proxy.url : redis.url), { ...options, prefix });
    const b = createRedisStore(await connect(options.bViaProxy ? proxy.url : redis.url), { ...options, prefix });
    return { a, b, prefix };
  }
  /** Calls per command since Redis started, from INFO commandstats. */
  async function calls(): Promise<Record<string, number>> {
    const info = await raw.info("commandstats");
    return Object.fromEntries([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }
  const delta = (before: Record<string, number>, after: Record<string, number>, command: string) => (after[command] ?? 0) - (before[command] ?? 0);
  /** Every lock-key event (set, del, expired) since the last call; a marker write flushes the notifications. */
  async function lockEventsFor(prefix: string) {
    const marker = `${prefix}lock:marker-${Math.random()}`;
    await raw.set(marker, "1");
    for (let i = 0; i < 100 && !lockEvents.some((e) => e.includes(marker)); i++) await sleep(10);
    const events = lockEvents.filter((e) => e.includes(`:${prefix}lock:`) && !e.includes(marker));
    lockEvents = [];
    return events;
  }

  before(async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy(redis.port);
    raw = await connect(redis.url);
    await raw.configSet("notify-keyspace-events", "KA");
    const subscriber = await connect(redis.url);
    await subscriber.pSubscribe("__keyspace@0__:*lock:*", (event, channel) => lockEvents.push(`${channel} ${event}`));
  });
  after(async () => {
    proxy.rule = undefined;
    for (const c of clients) await c.close().catch(() => {});
    await proxy.close();
    await redis.close();
  });

  it("an uncontended update costs exactly one EVALSHA, and no lock key is ever set", async () => {
    const { a, prefix } = await instances();
    const k = key("one");
    await a.create(k, record(5, [1]));
    await a.update(k, Date.now(), withProduct(2)); // loads the script into Redis's cache (EVAL after NOSCRIPT)
    await lockEventsFor(prefix);
    const before = await calls();
    const N = 20;
    for (let i = 0; i < N; i++) {
      assert.ok(await a.get(k, Date.now()), "the request's read"); // as storage.load does: one GET
      await a.update(k, Date.now(), withProduct(100 + i));
    }
    const after = await calls();
    assert.equal(delta(before, after, "evalsha"), N, "one script per update");
    assert.equal(delta(before, after, "eval"), 0);
    assert.deepEqual(await lockEventsFor(prefix), [], "no lock was taken (nor released) on the optimistic path");
    assert.deepEqual(idsIn(await a.get(k, Date.now())), [1, 2, ...Array.from({ length: N }, (_, i) => 100 + i)]);
    assert.deepEqual(
      (await a.listByUser(5, Date.now())).map((s) => s.key),
      [k],
      "the per-user index is kept",
    );
  });

  it("two instances adding concurrently to one session (interleaved, conflicting) lose nothing", async () => {
    const { a, b, prefix } = await instances();
    const k = key("two");
    await a.create(k, record(null, [1]));
    await Promise.all([a.get(k, Date.now()), b.get(k, Date.now())]);
    const before = await calls();
    const products = Array.from({ length: 60 }, (_, i) => 1000 + i);
    const results = await Promise.all(products.map((p, i) => settle((i % 2 ? b : a).update(k, Date.now(), withProduct(p)))));
    const after = await calls();
    assert.deepEqual(
      results.filter((r) => !r.ok || !r.value),
      [],
      "every add was acknowledged",
    );
    const final = idsIn(await a.get(k, Date.now()))!;
    assert.deepEqual(
      [...final].sort((x, y) => x - y),
      [1, ...products],
      "every acknowledged add is there, exactly once",
    );
    assert.ok((await lockEventsFor(prefix)).length > 0, "the instances did conflict (some writes took the locked path)");
    assert.ok(delta(before, after, "evalsha") > products.length, "conflicts cost extra scripts, never a lost add");
  });

  it("a compare-and-set while another instance holds the lock waits for that writer, and loses nothing", async () => {
    const { a, b, prefix } = await instances({ bViaProxy: true });
    const k = key("held");
    await a.create(k, record(null, [1]));
    await Promise.all([a.get(k, Date.now()), b.get(k, Date.now())]);
    // B writes under its lock (`once`: the locked path); its fenced write is slowed 500 ms on the link.
    proxy.rule = (command) => (command.some((w) => w.includes('"productId":202')) ? { delayMs: 500 } : undefined);
    try {
      const bWrite = b.update(k, Date.now(), withProduct(202), { once: true });
      for (let i = 0; i < 100 && !(await raw.exists(`${prefix}lock:${k}`)); i++) await sleep(5);
      assert.equal(await raw.exists(`${prefix}lock:${k}`), 1, "B holds the lock");
      // A's remembered copy is still exactly the record: only the lock stops its compare-and-set.
      const change = counted(withProduct(101));
      const [aResult, bResult] = await Promise.all([a.update(k, Date.now(), change), bWrite]);
      assert.deepEqual(idsIn(bResult), [1, 202]);
      assert.deepEqual(idsIn(aResult), [1, 202, 101], "A wrote on top of B's write, after B released the lock");
      assert.deepEqual(change.seen, [[1], [1, 202]], "A's first run (on its copy) was discarded; the second ran on B's write");
    } finally {
      proxy.rule = undefined;
    }
    assert.deepEqual(idsIn(await a.get(k, Date.now())), [1, 202, 101]);
    assert.equal(await raw.exists(`${prefix}lock:${k}`), 0, "no lock left behind");
  });

  it("a conflict costs two scripts (the compare-and-set's reply carries the fresh record and the lock): the change reruns on it", async () => {
    const { a, b, prefix } = await instances();
    const k = key("conflict");
    await a.create(k, record(null, [1]));
    await a.get(k, Date.now());
    await b.update(k, Date.now(), withProduct(7)); // A's copy is outdated now
    await lockEventsFor(prefix);
    const before = await calls();
    const change = counted(withProduct(8));
    assert.deepEqual(idsIn(await a.update(k, Date.now(), change)), [1, 7, 8]);
    const after = await calls();
    assert.deepEqual(change.seen, [[1], [1, 7]], "run on the outdated copy (discarded), then on the fresh record");
    assert.equal(delta(before, after, "evalsha"), 2, "the compare-and-set (which took the lock) and the fenced write: no separate read");
    assert.deepEqual(
      (await lockEventsFor(prefix)).map((e) => e.split(" ")[1]),
      ["set", "expire", "del"],
      "the lock was set (with its expiry) by the conflict and deleted by the fenced write",
    );
    assert.deepEqual(idsIn(await b.get(k, Date.now())), [1, 7, 8]);
  });

  it("with `once` the change runs exactly once, on the freshest record, even when this instance's copy is outdated", async () => {
    const { a, b } = await instances();
    const k = key("once");
    await a.create(k, record(null, [1]));
    await a.get(k, Date.now());
    await b.update(k, Date.now(), withProduct(7));
    const change = counted(withProduct(8));
    assert.deepEqual(idsIn(await a.update(k, Date.now(), change, { once: true })), [1, 7, 8]);
    assert.deepEqual(change.seen, [[1, 7]]);
  });

  it("a change that refuses on an outdated copy is asked again on the freshest record", async () => {
    const { a, b } = await instances();
    const k = key("refuse");
    await a.create(k, record(null, [1]));
    await a.get(k, Date.now());
    await b.update(k, Date.now(), withProduct(7));
    // "Remove product 7": refused when 7 is not in the cart. A's copy does not have it; the record does.
    const removeSeven = counted((s) => {
      if (!cartOf(s).some((l) => l.productId === 7)) throw new Error("not in the cart");
      return { ...s, data: { cart: cartOf(s).filter((l) => l.productId !== 7) } };
    });
    assert.deepEqual(idsIn(await a.update(k, Date.now(), removeSeven)), [1]);
    assert.deepEqual(removeSeven.seen, [[1], [1, 7]]);
    assert.deepEqual(idsIn(await b.get(k, Date.now())), [1]);
  });

  it("a compare-and-set after a logout (destroy) on another instance returns null and re-creates nothing", async () => {
    const { a, b, prefix } = await instances();
    const k = key("destroyed");
    await a.create(k, record(5, [1]));
    await a.get(k, Date.now());
    await b.destroy(k); // acknowledged logout
    await lockEventsFor(prefix);
    const before = await calls();
    assert.equal(await a.update(k, Date.now(), withProduct(9)), null);
    const after = await calls();
    assert.equal(delta(before, after, "evalsha"), 1, "the one script found the record gone");
    assert.equal(await raw.exists(`${prefix}s:${k}`), 0, "no resurrection");
    assert.deepEqual(await lockEventsFor(prefix), [], "and took no lock");
    assert.equal(await a.get(k, Date.now()), null);
    assert.deepEqual(await b.listByUser(5, Date.now()), []);
  });

  it("a link cut before any command of a one-script write (or of its fallback) leaves either everything or nothing, and the caller is told which", async () => {
    for (const conflict of [false, true]) {
      for (let n = 1; n <= 3; n++) {
        const { a, b } = await instances({ aViaProxy: true });
        const k = key(`cut-${n}`);
        await b.create(k, record(5, [1]));
        await a.get(k, Date.now());
        if (conflict) await b.update(k, Date.now(), withProduct(7)); // A's copy is outdated: the fallback runs
        proxy.rule = (_command, i) => (i === n ? "cut" : undefined);
        const result = await settle(a.update(k, Date.now(), withProduct(9)));
        proxy.rule = undefined;
        const base = conflict ? [1, 7] : [1];
        const stored = idsIn(await b.get(k, Date.now()));
        if (result.ok) assert.deepEqual(stored, [...base, 9], `cut before command ${n}${conflict ? " (conflict)" : ""}: acknowledged, so saved`);
        else assert.deepEqual(stored, base, `cut before command ${n}${conflict ? " (conflict)" : ""}: answered 'nothing was saved', so nothing was`);
      }
    }
  });

  it("remembers a bounded number of records (least recently used out first); a forgotten one is written through the lock, correctly", async () => {
    const { a, prefix } = await instances({ rememberKeys: 2 });
    const [k1, k2, k3] = [key("lru1"), key("lru2"), key("lru3")];
    for (const k of [k1, k2, k3]) await a.create(k, record(null, [1]));
    for (const k of [k1, k2, k3]) await a.get(k, Date.now()); // k1 falls out
    await lockEventsFor(prefix);
    assert.deepEqual(idsIn(await a.update(k3, Date.now(), withProduct(3))), [1, 3]);
    assert.deepEqual(await lockEventsFor(prefix), [], "a remembered record: one script, no lock");
    assert.deepEqual(idsIn(await a.update(k1, Date.now(), withProduct(1))), [1, 1]);
    assert.ok(
      (await lockEventsFor(prefix)).some((e) => e.endsWith(" set")),
      "a forgotten record: the locked path",
    );
  });

  it("the remembered records are bounded in bytes too: a record too large for the budget takes the locked path", async () => {
    const { a, prefix } = await instances({ rememberBytes: 2_000 });
    const [small, large] = [key("bytes-small"), key("bytes-large")];
    await a.create(small, record(null, [1]));
    const sixtyLines = Array.from({ length: 60 }, (_, i) => i + 1); // ≈ 1,800 characters: 3.6 KB counted
    await a.create(large, record(null, sixtyLines));
    await a.get(small, Date.now());
    await a.get(large, Date.now());
    await lockEventsFor(prefix);
    await a.update(small, Date.now(), withProduct(3));
    assert.deepEqual(await lockEventsFor(prefix), [], "a small record is remembered: one script, no lock");
    await a.update(large, Date.now(), withProduct(3));
    assert.ok(
      (await lockEventsFor(prefix)).some((e) => e.endsWith(" set")),
      "a record larger than the byte budget is not remembered: the locked path",
    );
  });

  it("a compare-and-set that reaches Redis after its deadline is refused by Redis itself", async () => {
    const { a, prefix } = await instances({ aViaProxy: true, timeoutMs: 300 });
    const k = key("late");
    await a.create(k, record(null, [1]));
    await a.update(k, Date.now(), withProduct(2)); // the script is cached: the late one is an EVALSHA that runs
    const before = await calls();
    proxy.rule = (command) => (command.some((w) => w.includes('"productId":303')) ? { delayMs: 800 } : undefined);
    const started = Date.now();
    const late = await settle(a.update(k, Date.now(), withProduct(303)));
    const took = Date.now() - started;
    proxy.rule = undefined;
    assert.equal(late.ok, false, "the caller was told 'nothing was saved'");
    assert.equal((late as { error: { code?: string } }).error.code, "STORE_UNAVAILABLE");
    assert.ok(took < 700, `within the deadline (${took} ms)`);
    await sleep(900); // the held write reaches Redis now
    const after = await calls();
    assert.equal(delta(before, after, "evalsha"), 1, "the late script did reach Redis");
    assert.deepEqual(idsIn(await a.get(k, Date.now())), [1, 2], "and Redis refused it");
    assert.equal(await raw.exists(`${prefix}lock:${k}`), 0, "no lock left behind");
    assert.deepEqual(idsIn(await a.update(k, Date.now(), withProduct(4))), [1, 2, 4], "the next write works");
  });
});
