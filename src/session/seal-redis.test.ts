/**
 * Session data sealed at rest on the Redis technique (seal.ts through real HTTP and a real
 * redis-server): a separate client reading every value in Redis sees no cart and no note, and a
 * sign-in re-seals under the new ID. Apart from seal.test.ts so that the SQLite and memory parts
 * run in `npm run test:fast`, which starts no server.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { addToCart, cartOf, type Client, register, startTestApp } from "../test/harness.ts";
import { startRedisServer } from "../test/redis-server.ts";
import { sealFor } from "./seal.ts";

const NOTE = "For Ada Lovelace, with love";

async function addWithNote(c: Client) {
  await addToCart(c, 3, 2);
  await c.get("/cart");
  const res = await c.post("/cart/items/3/note", { note: NOTE, returnTo: "/cart" });
  assert.equal(res.status, 303);
}

describe("sealed at rest, Redis technique", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  before(async () => {
    redis = await startRedisServer();
  });
  after(() => redis.close());

  it("redis: every value in Redis, read by a separate client, shows no cart and no note", async () => {
    const app = await startTestApp({ SESSION_STORE: "redis", REDIS_URL: redis.url });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const c = app.client();
      await addWithNote(c);
      await register(c); // sign-in: rekeyed and re-sealed in Redis too
      assert.deepEqual([...(await cartOf(c))], [[3, 2]]);
      const keys: string[] = [];
      for await (const batch of raw.scanIterator({ MATCH: "*", COUNT: 100 })) keys.push(...batch);
      const values = await Promise.all(keys.map(async (k) => ((await raw.type(k)) === "string" ? ((await raw.get(k)) ?? "") : "")));
      const records = values.filter((v) => v.includes('"sealed"'));
      assert.equal(records.length, 1, `one session record among ${keys.join(", ")}`);
      for (const v of values) assert.doesNotMatch(v, /Ada|productId|quantity/);
      assert.deepEqual(sealFor(c.sessionId()!, c.sessionKey()!).open(JSON.parse(records[0]!).data)?.cart, [{ productId: 3, quantity: 2, note: NOTE }]);
    } finally {
      await raw.quit();
      await app.close();
    }
  });
});
