/**
 * Connecting the Redis technique: one node-redis client, reconnecting with backoff when Redis goes
 * away. While it is away, commands fail at once (no offline queue); while it is frozen (connected
 * but silent), every call gives up after REDIS_TIMEOUT_MS (the store's own deadline): either way a
 * request gets a 503 rather than hanging, and nothing is acknowledged that was not stored. At start-up an unreachable Redis
 * is fatal, with a message that says what to start.
 */
import { createClient } from "redis";
import type { Config } from "../config.ts";
import { createRedisStore } from "./stores/redis-store.ts";

export class RedisUnreachableError extends Error {}

/** How long a shutdown waits for Redis to answer what is pending (a live Redis answers in a millisecond). */
const CLOSE_WAIT_MS = 500;

export async function connectRedisStore(
  config: Pick<Config, "redisUrl" | "redisTimeoutMs">,
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
  options: { oneScript?: boolean } = {},
) {
  let connected = false;
  const client = createClient({
    url: config.redisUrl,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      // Exponential backoff up to 2 s, forever once we have been connected; give up at start-up.
      reconnectStrategy: (retries) => (connected ? Math.min(50 * 2 ** retries, 2_000) : new Error("Redis unreachable at start-up")),
    },
  });
  client.on("error", (err: Error) => log?.warn({ err: err.message }, "redis connection problem"));
  client.on("ready", () => {
    if (connected) log?.info({}, "redis connection restored");
  });
  try {
    await client.connect();
  } catch (error) {
    throw new RedisUnreachableError(
      `SESSION_STORE=redis, but Redis is not reachable at ${config.redisUrl} (${(error as Error).message}). ` +
        "Start it (Debian: apt-get install redis-server, then redis-server) or set REDIS_URL.",
    );
  }
  connected = true;
  // oneScript false (the benchmark's A/B): nothing remembered, so every update takes the locked path.
  const store = createRedisStore(client, { timeoutMs: config.redisTimeoutMs, ...(options.oneScript === false ? { rememberBytes: 0 } : {}) });
  return Object.assign(store, {
    /** The connection itself, for what else the shop keeps in Redis (the rate limits' counters). */
    client,
    /**
     * Waits for the replies still due, but not for ever: close() alone waits for a frozen Redis
     * for as long as it stays frozen, and held a SIGTERM until the 10 s force timer (exit code 1).
     * A command still unanswered after CLOSE_WAIT_MS was never acknowledged to anyone (its
     * request got a 503 at its own deadline), so dropping the connection then loses nothing.
     */
    async close() {
      connected = false;
      let timer: NodeJS.Timeout | undefined;
      const closed = client.close().then(
        () => true,
        () => true,
      );
      const answered = await Promise.race([closed, new Promise<false>((r) => (timer = setTimeout(() => r(false), CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
      if (!answered) client.destroy();
    },
  });
}
