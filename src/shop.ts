/**
 * createShop: the one composition root. Config in, a ready shop out: the database (migrated and
 * seeded), the classroom, the session layer, the cleanup job and the Express app. It never
 * listens and never reads process.env, so server.ts, the test harness and the benchmark build
 * exactly the same shop and differ only in what they pass.
 */
import path from "node:path";
import { createApp } from "./app.ts";
import { createCartCarryOver } from "./accounts/carry-over.ts";
import { createAudit } from "./auth/audit.ts";
import { createPasswordHasher, type ScryptCost } from "./auth/password.ts";
import { createUsers } from "./auth/users.ts";
import { createCatalog } from "./catalog/catalog.ts";
import { createClassroomLayer } from "./classroom/classroom-routes.ts";
import { createCsrf } from "./middleware/csrf.ts";
import { createFlash } from "./middleware/flash.ts";
import { createOrders } from "./orders/orders.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { migrate, seedCatalog } from "./db/migrate.ts";
import { startCheckpointer } from "./db/checkpointer.ts";
import { type Db, forRequests, openDatabase } from "./db/open.ts";
import { openShopData, type ShopData } from "./db/shop-data.ts";
import type { Logger } from "./log.ts";
import { createClassroom } from "./classroom/classroom.ts";
import { withSavedCarts } from "./accounts/account-storage.ts";
import { createSavedCarts } from "./accounts/saved-carts.ts";
import { withNewSessionLimit } from "./middleware/new-session-limit.ts";
import { startSessionCleanup } from "./session/cleanup.ts";
import { NOTICE_GRACE_MS } from "./session/cookie.ts";
import { createDatabaseLimitStores, createPostgresLimitStores, createRedisLimitStores, type LimitStores } from "./middleware/limit-stores.ts";
import { connectRedisStore } from "./session/redis.ts";
import { connectPostgresStore } from "./session/postgres.ts";
import { createSessionLayer, type Speedups } from "./session/technique.ts";
import type { SessionStorage } from "./session/types.ts";

export interface ShopDeps {
  /**
   * The real clock (the system's, or a test's manual one). The classroom shifts it for the
   * shop; the instructor's pass keeps reading this one, so fast-forwarding a class never
   * expires the instructor.
   */
  clock: Clock;
  log: Logger;
  /** The project folder (db/migrations, db/seed.sql, views/, public/). */
  root: string;
  /** An open database to use as it is (the caller migrated it, and closes it); else config.databasePath is opened, migrated and seeded. */
  db?: Db;
  /** How often the cleanup job sweeps (default config.cleanupIntervalMs); "off" for no job at all. */
  cleanup?: { intervalMs: number } | "off";
  /** The benchmark's "sessions off": replaces the storage the routes use. */
  sessions?: SessionStorage;
  /** scrypt's cost (OWASP's unless given): the tests' shops pass a cheaper one, password.test.ts checks OWASP's. */
  passwordParams?: ScryptCost;
  /** The benchmark's A/B of one speed-up: those switched off (technique.ts). */
  speedups?: Partial<Speedups>;
}

export async function createShop(config: Config, deps: ShopDeps) {
  const { root, log } = deps;
  const ownsDb = deps.db === undefined;
  // The SQLite file: the shop's data by default; with DATA_STORE=postgres, only what a technique or
  // the exercises keep locally (SESSION_STORE=sqlite's sessions), so it is not seeded then.
  const db = deps.db ?? openDatabase(config.databasePath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  const dataOnPostgres = config.dataStore === "postgres";
  const sqliteMigrations = ownsDb ? migrate(db, path.join(root, "db/migrations")) : [];
  const sqliteSeeded = ownsDb && !dataOnPostgres ? seedCatalog(db, path.join(root, "db/seed.sql")) : false;
  // The accounts are in PostgreSQL then: the local sessions table's reference to users cannot hold.
  if (dataOnPostgres) db.pragma("foreign_keys = OFF");
  forRequests(db); // from here on, waits for a lock never block the event loop
  // ...and neither do WAL checkpoints: a worker thread does them (db/checkpointer.ts).
  const checkpointer = startCheckpointer(db, { onError: (err) => log.warn({ err }, "WAL checkpoint") });

  // The classroom's demo clock is the shop's clock: fast-forwarding moves expiry and cleanup together.
  const classroom = createClassroom({ realClock: deps.clock, vulnerableLabsAllowed: config.vulnerableLabs });
  const clock = classroom.clock;
  let layer: Awaited<ReturnType<typeof createSessionLayer>>;
  // The rate limits count where the sessions are shared: in Redis with the Redis technique, else in
  // the shop's database, which every process shares (middleware/limit-stores.ts).
  let data: ShopData | null = null;
  let limits: LimitStores | null = null;
  try {
    // The shop's own data, on the database DATA_STORE names (db/shop-data.ts).
    data = await openShopData(config, db, root, { log });
    limits = data.runner ? createPostgresLimitStores(data.runner) : createDatabaseLimitStores(db, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
    const createRedisStore = async (c: Config, options?: { oneScript?: boolean }) => {
      const redisStore = await connectRedisStore(c, log, options);
      limits?.close();
      limits = createRedisLimitStores(redisStore.client, { timeoutMs: c.redisTimeoutMs });
      return redisStore;
    };
    layer = await createSessionLayer({
      config,
      db,
      clock,
      createStorage: classroom.createStorage,
      createRedisStore,
      createPostgresStore: async (c, options) => {
        const postgresStore = await connectPostgresStore(c, root, log, options);
        limits?.close();
        limits = createPostgresLimitStores(postgresStore.runner);
        return postgresStore;
      },
      // A student's store (the graded exercises): loaded, and checked against the contract, only when asked for.
      createStudentStore: async (c) => (await import("./exercises/student-store.ts")).loadStudentStore(c, { db, log }),
      speedups: deps.speedups,
    });
  } catch (error) {
    limits?.close();
    await data?.close();
    await checkpointer?.stop();
    if (ownsDb) db.close();
    throw error;
  }
  const { store } = layer;
  const { sql } = data;
  // The account's saved cart, written through on every change of a signed-in session (src/accounts/).
  const savedCarts = createSavedCarts(sql);
  // A flood that drops its cookie makes a new session per request: limited per client (middleware/new-session-limit.ts).
  const limited = withNewSessionLimit(deps.sessions ?? layer.storage, { perClient: config.newSessionsPerClient, counts: limits.storeFor("new-session") });
  const sessions = withSavedCarts(limited, {
    savedCarts,
    clock,
    onError: (err) => log.warn({ err }, "saved cart not updated; it catches up at the next change"),
  });
  // Why a session ended is kept only as long as its cookie can still arrive.
  const pruneEndings = setInterval(() => {
    try {
      savedCarts
        .pruneEnds(clock.now() - config.absoluteTimeoutMs - NOTICE_GRACE_MS)
        .catch((err: unknown) => log.warn({ err }, "pruning session endings failed; will retry"));
    } catch (err) {
      log.warn({ err }, "pruning session endings failed; will retry");
    }
  }, config.cleanupIntervalMs);
  pruneEndings.unref();

  // The cookie technique keeps nothing on the server, and Redis expires keys itself: nothing to clean.
  const cleanup =
    store && store.kind !== "redis" && deps.cleanup !== "off"
      ? startSessionCleanup({
          store,
          clock,
          intervalMs: deps.cleanup?.intervalMs ?? config.cleanupIntervalMs,
          onSweep: ({ removed, batches, ms }) => {
            classroom.recordSweep(removed);
            log.info({ removed, batches, ms: Math.round(ms) }, `session cleanup removed ${removed} expired sessions`);
          },
          onError: (err) => log.warn({ err }, "session cleanup failed; will retry"),
        })
      : null;

  // The services the routes share, built once.
  const catalog = await createCatalog(sql);
  const users = createUsers(sql);
  const orders = createOrders(sql, classroom.createStockKeeping(sql));
  const flash = createFlash({ cookieName: config.cookieSecure ? "__Host-shop_flash" : "shop_flash", secure: config.cookieSecure });
  const csrf = createCsrf(config.sessionSecrets, { cookieSecure: config.cookieSecure });
  const audit = createAudit(log);
  // Two of libuv's four threads at most for scrypt: the others keep serving files and compression.
  const passwords = createPasswordHasher({ concurrency: 2, maxWaiting: 100, params: deps.passwordParams });
  const carryOver = createCartCarryOver({ savedCarts, store, catalog, clock, policy: () => classroom.cartMergePolicy });
  const services = {
    catalog,
    users,
    orders,
    sessions,
    store,
    flash,
    clock,
    audit,
    passwords,
    savedCarts,
    carryOver,
    limits,
  };
  const onSessionEnded = (key: string) => savedCarts.recordEnd(key, "instructor", clock.now());
  const classroomLayer = createClassroomLayer({
    config,
    classroom,
    store,
    sessions,
    catalog,
    cleanup,
    flash,
    log,
    realClock: deps.clock,
    audit,
    db: sql,
    onSessionEnded,
    limits,
  });

  const app = createApp({ config, services, csrf, classroom, classroomLayer, log, root, lazyCookies: deps.speedups?.lazyCookies });

  return {
    app,
    db,
    classroom,
    sessions,
    /** null for the cookie technique. */
    store,
    cleanup,
    /** The shop's data, on SQLite or PostgreSQL (db/sql.ts). */
    sql,
    /** Numbers of the SQLite file's migrations this start applied. */
    migrationsApplied: sqliteMigrations,
    /** DATA_STORE=postgres: numbers of db/migrations-postgres this start applied (none when another instance had). */
    postgresMigrationsApplied: data.migrationsApplied,
    seeded: sqliteSeeded || data.seeded,
    /** After the HTTP server has stopped: the cleanup job, the store's connections, the checkpointer, the database (if the shop opened it). */
    async close() {
      clearInterval(pruneEndings);
      limits?.close();
      const shopData = data;
      await cleanup?.stop(); // ends a sweep after its current batch
      // Independent of each other, each bounded (about 1 s): together they fit a shutdown's 5 s.
      await Promise.all([layer.close(), checkpointer?.stop(), shopData.close()]);
      if (ownsDb) db.close();
    },
  };
}

export type Shop = Awaited<ReturnType<typeof createShop>>;
