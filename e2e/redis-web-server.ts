/**
 * The web server of the `redis` Playwright project: a real redis-server on a free port, then the
 * shop with SESSION_STORE=redis pointing at it. Both stop together when Playwright stops this
 * process (SIGTERM/SIGINT).
 */
import { spawn } from "node:child_process";
import { startRedisServer } from "../src/test/redis-server.ts";

const redis = await startRedisServer();
const shop = spawn(process.execPath, ["src/server.ts"], { stdio: "inherit", env: { ...process.env, SESSION_STORE: "redis", REDIS_URL: redis.url } });
const stop = async () => {
  shop.kill("SIGTERM");
  await new Promise((r) => shop.once("exit", r));
  await redis.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
shop.on("exit", async (code) => {
  await redis.close();
  process.exit(code ?? 1);
});
