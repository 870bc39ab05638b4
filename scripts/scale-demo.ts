/**
 * npm run scale-demo — one shop, three instances, a round-robin load balancer in front:
 *
 *   browser → nginx (round robin, :8080) → shop a (:8081) / shop b (:8082) / shop c (:8083) → sessions
 *
 * With `--technique redis` (the default) the sessions live in a local redis-server that all three
 * share: requests hop between instances (see the X-ray, or the X-Served-By header) and the cart
 * stays. With `--technique memory` each instance keeps its own Map: the cart appears and
 * disappears as requests hop — the sticky-session problem, live. `--technique sqlite` shares the one
 * SQLite file (WAL), which works on one machine only.
 *
 * Options: --technique redis|memory|sqlite, --port 8080 (the balancer; instances use the next ports),
 * --instances 3 (1 to 3; the benchmark measures each).
 * Needs Debian's nginx (nginx-light) and, for redis, redis-server. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRedisServer } from "../src/test/redis-server.ts";
import { NGINX_BINARY, startNginx } from "../src/test/nginx.ts";
import { restartBehindBalancer } from "./rolling-restart.ts";
import { waitFor } from "./wait-for.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const technique = arg("technique", "redis");
const port = Number(arg("port", "8080"));
const instanceCount = Number(arg("instances", "3"));
if (![1, 2, 3].includes(instanceCount)) throw new Error("--instances must be 1, 2 or 3");
if (!["redis", "memory", "sqlite"].includes(technique)) throw new Error("--technique must be redis, memory or sqlite");
if (!NGINX_BINARY) {
  console.error("nginx is not installed: apt-get install nginx-light (the demo's load balancer)");
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scale-demo-"));
const children: ChildProcess[] = [];
let redis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
let stopping = false;

async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve(null);
          c.once("exit", resolve);
          c.kill("SIGTERM");
        }),
    ),
  );
  // Whatever fails while tidying up is said, and the demo still ends with the code it meant.
  await redis?.close().catch((error: Error) => console.error(`redis-server did not stop cleanly: ${error.message}`));
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    console.error(`could not remove ${dir}: ${(error as Error).message}`);
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll());
process.on("SIGTERM", () => void stopAll());

try {
  if (technique === "redis") redis = await startRedisServer({ persistent: true });
  // One secret for all three: any instance must accept a cookie another one signed.
  const secret = randomBytes(32).toString("base64url");
  const database = path.join(dir, "shop.sqlite");
  const instances = ["a", "b", "c"].slice(0, instanceCount).map((name, i) => ({ name, port: port + 1 + i }));
  const spawnInstance = (instance: (typeof instances)[number]) => {
    const child = spawn(process.execPath, [path.join(root, "src/server.ts")], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        PORT: String(instance.port),
        HOST: "127.0.0.1",
        SESSION_STORE: technique,
        REDIS_URL: redis?.url ?? "",
        DATABASE_PATH: database,
        SESSION_SECRETS: secret,
        INSTANCE_NAME: `shop-${instance.name}`,
        SHOP_LABEL: `instance ${instance.name}`,
        TRUST_PROXY: "1", // nginx is the one proxy: req.host and the client IP come from its headers
        // After SIGTERM, a second of serving (readiness 503) while nginx stops sending (scripts/rolling-restart.ts).
        SHUTDOWN_DELAY_SECONDS: "1",
        LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      },
    });
    children.push(child);
    return child;
  };
  const running = new Map<string, ChildProcess>();
  for (const instance of instances) {
    const child = spawnInstance(instance);
    running.set(instance.name, child);
    // The first instance migrates and seeds the shared file before the others open it.
    await waitFor(`http://127.0.0.1:${instance.port}/`, { child });
  }

  const balancer = await startNginx(
    port,
    instances.map((i) => i.port),
    { dir },
  );
  const nginx = balancer.child;
  children.push(nginx);
  nginx.on("exit", (code) => {
    if (!stopping) {
      console.error(`nginx stopped (exit ${code}); see ${dir}/nginx-error.log`);
      void stopAll(1);
    }
  });
  await waitFor(`http://127.0.0.1:${port}/`);

  console.log(`
Stateful Shop — scale-out demo (${technique} sessions)

  Open  http://localhost:${port}   (nginx, round robin over ${instances.length === 3 ? "three instances" : `${instances.length} instance(s)`})
  Instances: ${instances.map((i) => `shop-${i.name} :${i.port}`).join(", ")}${redis ? `\n  Sessions in redis-server at ${redis.url}` : ""}

  Switch on the session X-ray (footer): its title names the instance that served each page.
  ${technique === "memory" ? "Memory sessions: add to the cart and reload a few times — the cart comes and goes as requests hop." : "Add to the cart and reload: the instance changes, the cart stays."}
  Press ${instances.map((i) => i.name).join(", ")} to restart that instance the way a deploy should (docs/scaling.md):
  out of nginx's rotation, SIGTERM, a new process, ready, back in — no shopper sees an error.
  Ctrl-C stops everything.
`);

  // One restart at a time: a second key while one runs is ignored (two instances out at once is
  // how a deploy takes a shop down).
  let restarting = false;
  const restart = async (instance: (typeof instances)[number]) => {
    restarting = true;
    try {
      const { exitCode, timings } = await restartBehindBalancer({
        balancer,
        port: instance.port,
        stop: () =>
          new Promise((resolve) => {
            const child = running.get(instance.name)!;
            if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
            child.once("exit", (code) => resolve(code));
            child.kill("SIGTERM");
          }),
        start: async () => {
          if (stopping) throw new Error("the demo is stopping");
          running.set(instance.name, spawnInstance(instance));
        },
      });
      const steps = Object.entries(timings)
        .map(([step, ms]) => `${step} (${ms} ms)`)
        .join(" → ");
      console.log(`shop-${instance.name} restarted: ${steps}; the old process exited with ${exitCode}`);
    } catch (error) {
      console.error(`shop-${instance.name} could not be restarted: ${(error as Error).message}`);
    } finally {
      restarting = false;
    }
  };
  // Keys from a terminal (raw: no Enter needed) or lines from a pipe (the demo's test sends "b\n").
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on("data", (data: Buffer) => {
    for (const key of data.toString()) {
      if (key === "\u0003") return void stopAll(); // Ctrl-C in raw mode arrives as a key, not SIGINT
      const instance = instances.find((i) => i.name === key.toLowerCase());
      if (instance && !restarting && !stopping) void restart(instance);
    }
  });
  process.stdin.unref?.();
} catch (error) {
  console.error(`scale-demo could not start: ${(error as Error).message}`);
  await stopAll(1);
}
