/**
 * The entry point: readConfig → openDatabase → migrate and seed → createApp → listen →
 * cleanup job → graceful shutdown. The only file that reads process.env or exits.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "./app.ts";
import { createHttpServer } from "./http-server.ts";
import { createDrainer } from "./http-drain.ts";
import { systemClock } from "./clock.ts";
import { type Config, ConfigError, readConfig } from "./config.ts";
import { migrate, seedCatalog } from "./db/migrate.ts";
import { openDatabase } from "./db/open.ts";
import { createLogger } from "./log.ts";
import { createClassroom } from "./classroom/classroom.ts";
import { startSessionCleanup } from "./session/cleanup.ts";
import { createSessionLayer, type SessionLayer } from "./session/technique.ts";
import { connectRedisStore, RedisUnreachableError } from "./session/redis.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

let config: Config;
try {
  config = readConfig(process.env, root, { keepDevSecret: true });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Stateful Shop cannot start.\n${error.message}`);
    process.exit(1);
  }
  throw error;
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

const db = openDatabase(config.databasePath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
const applied = migrate(db, path.join(root, "db/migrations"));
const seeded = seedCatalog(db, path.join(root, "db/seed.sql"));
// The classroom's demo clock is the shop's clock: fast-forwarding moves expiry and cleanup together.
const classroom = createClassroom({ realClock: systemClock, vulnerableLabsAllowed: config.vulnerableLabs });
const clock = classroom.clock;
let layer: SessionLayer;
try {
  layer = await createSessionLayer({ config, db, clock, createStorage: classroom.createStorage, createRedisStore: (c) => connectRedisStore(c, log) });
} catch (error) {
  if (error instanceof RedisUnreachableError) {
    console.error(`Stateful Shop cannot start.\n${error.message}`);
    process.exit(1);
  }
  throw error;
}
const { storage: sessions, store } = layer;

// The cookie technique keeps nothing on the server, and Redis expires keys itself: nothing to clean.
const cleanup =
  store && store.kind !== "redis"
    ? startSessionCleanup({
        store,
        clock,
        intervalMs: config.cleanupIntervalMs,
        onSweep: ({ removed, batches, ms }) => {
          classroom.recordSweep(removed);
          log.info({ removed, batches, ms: Math.round(ms) }, `session cleanup removed ${removed} expired sessions`);
        },
        onError: (err) => log.warn({ err }, "session cleanup failed; will retry"),
      })
    : null;

const app = createApp({ config, db, sessions, store, clock, log, root, classroom, cleanup });

const server = createHttpServer(app);
const drainer = createDrainer(server);
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info(
    { port, database: config.databasePath, technique: sessions.technique, instance: config.instanceName, migrationsApplied: applied, seeded },
    `Stateful Shop is open at http://localhost:${port}`,
  );
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  const force = setTimeout(() => {
    log.error("shutdown took longer than 10 s; exiting anyway");
    process.exit(1);
  }, 10_000);
  force.unref();
  // Stop accepting; answer in-flight and arriving requests with Connection: close; close idle
  // kept-alive connections only after a grace time, never under a proxy's next request (a POST
  // that nginx sent on a connection we drop becomes a 502: src/http-drain.ts says why).
  const drained = drainer.drain();
  classroom.endStreams();
  await drained;
  await cleanup?.stop();
  await layer.close();
  db.close();
  log.info("bye");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
