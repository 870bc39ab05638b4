/**
 * The Redis store under faults injected from outside: a TCP proxy between one store's client and a
 * real redis-server delays or cuts the link before a chosen command, while a second store (another
 * "instance") talks to Redis directly. What must hold is what a shopper would notice: every change
 * that was acknowledged is in the record, nothing that was refused is, a logout is final, and the
 * per-user index ("your active sessions") agrees with the records.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectRedisStore } from "../redis.ts";
import { startRedisServer } from "../../test/redis-server.ts";
import { startTcpProxy } from "../../test/tcp-proxy.ts";
import { cartOf, record, withProduct } from "../../test/records.ts";
import type { ServerStore } from "../directory.ts";
import type { StoredSession } from "../types.ts";

type Store = ServerStore & { close(): Promise<void> };

const idsIn = (s: StoredSession | null) =>
  s
    ? cartOf(s)
        .map((l) => l.productId)
        .sort((a, b) => a - b)
    : null;
const key = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`.padEnd(64, "0");
const mentions = (text: string) => (command: string[]) => command.some((w) => w.includes(text));

/** Outcome of a store call: what it returned, or that it threw (a 503 for the shopper). */
async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** After a cut, node-redis reconnects with backoff: wait until the store answers again. */
async function untilAnswering(store: Store) {
  for (let i = 0; i < 100; i++) {
    if ((await settle(store.get(key("ping"), Date.now()))).ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the store did not reconnect");
}

describe("redis store under injected faults", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let viaProxy: Store; // instance A, behind the faulty link
  let direct: Store; // instance B
  before(async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy(redis.port);
    viaProxy = await connectRedisStore({ redisUrl: proxy.url, redisTimeoutMs: 1500 });
    direct = await connectRedisStore({ redisUrl: redis.url, redisTimeoutMs: 1500 });
  });
  after(async () => {
    proxy.rule = undefined;
    await viaProxy.close();
    await direct.close();
    await proxy.close();
    await redis.close();
  });

  it("a writer whose write arrives after its lock expired never overwrites a change another instance acknowledged meanwhile", { timeout: 30_000 }, async () => {
    const k = key("fence");
    await direct.create(k, record(null, [1]));
    // A reads under its lock, then its write sits 6.5 s on the link (longer than any lock lives).
    proxy.rule = (command) => (mentions('"productId":101')(command) ? { delayMs: 6_500 } : undefined);
    const a = settle(viaProxy.update(k, Date.now(), withProduct(101)));
    await new Promise((r) => setTimeout(r, 200));
    // B keeps trying until its add is acknowledged, as a shopper pressing "Add" again would.
    let b: Awaited<ReturnType<typeof settle<StoredSession | null>>> = { ok: false, error: null };
    for (let i = 0; i < 10 && !b.ok; i++) b = await settle(direct.update(k, Date.now(), withProduct(202)));
    assert.ok(b.ok && b.value, "B's add was acknowledged once A's lock was gone");
    const aResult = await a;
    await new Promise((r) => setTimeout(r, 6_700)); // let the delayed write reach Redis
    proxy.rule = undefined;
    const final = idsIn(await direct.get(k, Date.now()))!;
    assert.ok(final.includes(202), `the add acknowledged through B is still there (cart: ${final})`);
    if (aResult.ok) assert.ok(final.includes(101), "A said its add was saved, so it must be there");
    else assert.ok(!final.includes(101), "A answered 'nothing was saved', so its late write must not land");
  });

  it("a logout acknowledged while a login's rekey is in flight is final: the cart is never carried into the new session", { timeout: 30_000 }, async () => {
    const oldKey = key("old");
    const newKey = key("new");
    await direct.create(oldKey, record(null, [7]));
    // A's login holds the old record; its write is slowed on the link while B's logout lands.
    proxy.rule = (command) => (command.some((w) => w.includes(newKey)) ? { delayMs: 600 } : undefined);
    const login = settle(viaProxy.rekey(oldKey, newKey, Date.now(), (s) => ({ ...s, userId: 42 })));
    await new Promise((r) => setTimeout(r, 200));
    await direct.destroy(oldKey); // acknowledged logout
    const result = await login;
    proxy.rule = undefined;
    assert.equal(await direct.get(newKey, Date.now()), null, "no new session holds the logged-out cart");
    assert.equal(await direct.get(oldKey, Date.now()), null, "the logged-out session stays dead");
    assert.ok(!result.ok || result.value === null, "the rekey reports that there was nothing to carry over");
    assert.deepEqual(await direct.listByUser(42, Date.now()), []);
  });

  it("a link cut before any command of an update or a rekey leaves either everything or nothing, and the caller is told which", {
    timeout: 30_000,
  }, async () => {
    for (let n = 1; n <= 6; n++) {
      // update of a signed-in session: record and per-user index
      const k = key(`cut-update-${n}`);
      await direct.create(k, record(5, [1]));
      proxy.rule = (_command, i) => (i === n ? "cut" : undefined);
      const update = await settle(viaProxy.update(k, Date.now(), withProduct(9)));
      proxy.rule = undefined;
      await untilAnswering(viaProxy);
      const stored = idsIn(await direct.get(k, Date.now()));
      if (update.ok) assert.deepEqual(stored, [1, 9], `cut before command ${n}: acknowledged, so saved`);
      else assert.deepEqual(stored, [1], `cut before command ${n}: answered 'nothing was saved', so nothing was`);

      // rekey (sign-in): the new key is indexed for the user exactly when the move happened
      const oldKey = key(`cut-old-${n}`);
      const newKey = key(`cut-new-${n}`);
      await direct.create(oldKey, record(null, [3]));
      proxy.rule = (_command, i) => (i === n ? "cut" : undefined);
      const rekey = await settle(viaProxy.rekey(oldKey, newKey, Date.now(), (s) => ({ ...s, userId: 600 + n })));
      proxy.rule = undefined;
      await untilAnswering(viaProxy);
      const listed = (await direct.listByUser(600 + n, Date.now())).map((s) => s.key);
      if (rekey.ok && rekey.value) {
        assert.deepEqual(idsIn(await direct.get(newKey, Date.now())), [3], `cut before command ${n}: moved`);
        assert.equal(await direct.get(oldKey, Date.now()), null);
        assert.deepEqual(listed, [newKey], `cut before command ${n}: the moved session is in "your active sessions"`);
      } else {
        assert.equal(await direct.get(newKey, Date.now()), null, `cut before command ${n}: a failed sign-in created no session`);
        assert.deepEqual(idsIn(await direct.get(oldKey, Date.now())), [3], `cut before command ${n}: the guest cart is intact`);
        assert.deepEqual(listed, []);
      }
    }
  });

  it("a frozen Redis (SIGSTOP) fails each call within the deadline, and the writes it receives after thawing are refused", { timeout: 30_000 }, async () => {
    const k = key("frozen");
    await direct.create(k, record(null, [1]));
    redis.signal("SIGSTOP");
    try {
      const started = Date.now();
      const [read, write] = await Promise.all([settle(direct.get(k, Date.now())), settle(direct.update(k, Date.now(), withProduct(55)))]);
      const took = Date.now() - started;
      assert.equal(read.ok, false, "a read gives up");
      assert.equal(write.ok, false, "a write gives up");
      assert.equal((write as { error: { code?: string } }).error.code, "STORE_UNAVAILABLE");
      assert.ok(took < 3_000, `both gave up within 3 s (took ${took} ms)`);
    } finally {
      redis.signal("SIGCONT");
    }
    await untilAnswering(direct);
    assert.deepEqual(idsIn(await direct.get(k, Date.now())), [1], "the refused add is not applied when Redis thaws");
    const again = await direct.update(k, Date.now(), withProduct(56));
    assert.deepEqual(idsIn(again), [1, 56], "the session is writable again (no lock left behind)");
  });
});
