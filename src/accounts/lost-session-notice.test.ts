/**
 * A guest whose session the store lost (Redis emptied by FLUSHALL, or restarted without
 * persistence; the memory technique restarted) is told what is known: the store no longer has
 * it. Not "you were inactive for 30 minutes", which was untrue a second after the loss.
 * Real redis-server, real HTTP.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { addToCart, cartOf, startTestApp } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";

const notice = (html: string) => {
  const text = /<p class="flash flash-info session-ended">([^<]*)<\/p>/.exec(html)?.[1];
  return text === undefined ? null : text.replaceAll("&#39;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
};

describe("a guest whose session the store lost", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("after a Redis FLUSHALL is told the store no longer has it, not that they were inactive", async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.close());
    const app = await startTestApp({ SESSION_STORE: "redis", REDIS_URL: redis.url, SESSION_IDLE_SECONDS: "1800" });
    cleanups.push(() => app.close());
    const guest = app.client();
    await addToCart(guest, 1, 2);
    assert.deepEqual([...(await cartOf(guest))], [[1, 2]]);

    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    await admin.close();

    const page = await guest.get("/");
    assert.equal(page.status, 200);
    const said = notice(page.text);
    assert.equal(
      said,
      "Your session has ended and its cart is gone: the shop's session store no longer has it. " +
        "Carts are kept for 30 minutes without activity; a restart of the store without persistence, or an emptied store, also clears them.",
    );
    assert.doesNotMatch(said!, /gone: carts are kept|cleared after 30 minutes/, "no claim that this guest was inactive");
    assert.equal(notice((await guest.get("/")).text), null, "said once");
  });

  it("after a Redis restart without persistence, the same words", async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.close());
    const app = await startTestApp({ SESSION_STORE: "redis", REDIS_URL: redis.url });
    cleanups.push(() => app.close());
    const guest = app.client();
    await addToCart(guest, 1, 1);
    await redis.stop();
    await redis.start();
    // The shop reconnects by itself (backoff up to 2 s); until then a page is a 503 "back in a moment".
    let page = await guest.get("/");
    for (let waited = 0; page.status === 503 && waited < 10_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      page = await guest.get("/");
    }
    assert.equal(page.status, 200);
    assert.match(notice(page.text) ?? "", /^Your session has ended and its cart is gone: the shop's session store no longer has it\. /);
  });
});
