/**
 * The entry point: readConfig → createShop (shop.ts) → listen → graceful shutdown. The only
 * file that reads process.env or exits.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createHttpServer, withHealthProbes } from "./http-server.ts";
import { createAttackerSite } from "./classroom/attacker-site.ts";
import { createDrainer } from "./http-drain.ts";
import { systemClock } from "./clock.ts";
import { type Config, ConfigError, readConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { RedisUnreachableError } from "./session/redis.ts";
import { PostgresUnreachableError } from "./session/postgres.ts";
import { DataUnreachableError } from "./db/shop-data.ts";
import { StudentStoreError } from "./exercises/errors.ts";
import { createShop, type Shop } from "./shop.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A mistake the operator can fix (the message says how) ends the process with that message, not a stack trace. */
function cannotStart(error: unknown): never {
  if (
    error instanceof ConfigError ||
    error instanceof RedisUnreachableError ||
    error instanceof PostgresUnreachableError ||
    error instanceof DataUnreachableError ||
    error instanceof StudentStoreError
  ) {
    console.error(`Stateful Shop cannot start.\n${error.message}`);
    process.exit(1);
  }
  throw error;
}

let config: Config;
try {
  config = readConfig(process.env, root, { keepDevSecret: true });
} catch (error) {
  cannotStart(error);
}

// People read a terminal; machines read everything else (a pipe, a file, a log collector).
const log = createLogger(config.logLevel, { pretty: !config.production && process.stdout.isTTY === true });
if (config.sessionSecretsGenerated) {
  // Said at every start: a secret in a file is fine on a laptop and wrong anywhere shared.
  log.warn(
    { secretFile: config.sessionSecretFile },
    "SESSION_SECRETS is not set: using a development secret generated on this machine and kept in the file shown " +
      "(git-ignored, readable by you only), so restarts keep everyone signed in. Production refuses to start without SESSION_SECRETS.",
  );
}

let shop: Shop;
try {
  shop = await createShop(config, { clock: systemClock, log, root });
} catch (error) {
  cannotStart(error);
}

// The readiness probe turns 503 the moment draining begins (src/http-drain.ts, step 0).
const server = createHttpServer(withHealthProbes(shop.app, () => !drainer.draining));
// At most 3 s for the requests in flight (each has its own deadline: Redis's, SQLite's busy wait)
// and 2 s for closing the shop (shop.ts): a SIGTERM ends the process within 5 s, whatever it does
// (plus SHUTDOWN_DELAY_SECONDS, when set, during which it still serves).
const drainer = createDrainer(server, { deadlineMs: 3_000 });
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info(
    {
      port,
      database: config.databasePath,
      technique: shop.sessions.technique,
      instance: config.instanceName,
      migrationsApplied: shop.migrationsApplied,
      ...(config.dataStore === "postgres" ? { dataStore: "postgres", postgresMigrationsApplied: shop.postgresMigrationsApplied } : {}),
      seeded: shop.seeded,
    },
    `Stateful Shop is open at http://localhost:${port}`,
  );
});

// Lab 10's attacker site, on its own port: reached as 127.0.0.1 it is another site than the shop at localhost.
const attacker =
  config.attackerPort !== null && config.vulnerableLabs && config.classroom
    ? createHttpServer(createAttackerSite({ root, shopOrigin: `http://localhost:${config.port}` }))
    : null;
attacker?.listen(config.attackerPort!, config.host, () => {
  log.info({ port: config.attackerPort }, `Lab 10's attacker site is at http://127.0.0.1:${config.attackerPort}/`);
});
// A lab's extra page is not worth the shop: if its port is taken, say so and carry on without it.
attacker?.on("error", (err) => log.error({ err, port: config.attackerPort }, "lab 10's attacker site could not start; the shop runs without it"));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  const force = setTimeout(() => {
    log.error(`shutdown took longer than ${config.shutdownDelayMs / 1000 + 10} s; exiting anyway`);
    process.exit(1);
  }, config.shutdownDelayMs + 10_000);
  force.unref();
  // With SHUTDOWN_DELAY_SECONDS: keep serving (readiness 503, Connection: close) while the balancer
  // takes this instance out. Then stop accepting; answer in-flight and arriving requests with
  // Connection: close; close idle kept-alive connections only after a grace time, never under a
  // proxy's next request (a POST that nginx sent on a connection we drop becomes a 502:
  // src/http-drain.ts says why).
  if (config.shutdownDelayMs > 0)
    log.info({ delayMs: config.shutdownDelayMs }, "readiness probe says 503; still serving while the balancer takes this instance out");
  const drained = drainer.drain({ delayMs: config.shutdownDelayMs });
  attacker?.closeAllConnections();
  attacker?.close();
  shop.classroom.endStreams();
  await drained;
  await shop.close();
  log.info("bye");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
