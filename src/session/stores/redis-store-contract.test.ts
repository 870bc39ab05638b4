/** The store contract (src/test/store-contract.ts) on the Redis store, against a real redis-server (fails loudly when it is not installed). */
import { after } from "node:test";
import { createClient } from "redis";
import { startRedisServer } from "../../test/redis-server.ts";
import { storeContract } from "../../test/store-contract.ts";
import { createRedisStore } from "./redis-store.ts";

const redis = await startRedisServer();
const redisClient = createClient({ url: redis.url });
await redisClient.connect();
after(async () => {
  await redisClient.close();
  await redis.close();
});
let redisPrefix = 0;

// Each store gets its own key prefix, so the tests see only their own records.
storeContract("redis", () => createRedisStore(redisClient, { prefix: `contract${++redisPrefix}:` }));
