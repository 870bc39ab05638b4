/**
 * SESSION_STORE → the session layer: a storage (the four calls routes use) and, for the
 * server-side techniques, the store behind it (for the cleanup job, "your active sessions"
 * and the instructor view). The cookie technique has no store: there is nothing on the server.
 *
 * This is also the one place where speed is composed around the lesson's files (DESIGN §11):
 * storage.ts, seal.ts, cookie.ts and stores/sqlite-store.ts read as the lesson tells it, and what
 * makes them faster is passed in here, each with its measured gain (docs/performance.md).
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { createGroupCommit } from "../db/group-commit.ts";
import type { Db } from "../db/open.ts";
import { translatingUnavailable } from "../db/unavailable.ts";
import { createCookieSessionStorage } from "./cookie-storage.ts";
import { sealFor } from "./seal.ts";
import { createSessionStorage, type SessionStorageOptions } from "./storage.ts";
import { createMemoryStore } from "./stores/memory-store.ts";
import { createSqliteDirectory } from "./stores/sqlite-directory.ts";
import { createSqliteStore } from "./stores/sqlite-store.ts";
import { createRememberedCookie } from "./speed/remembered-cookie.ts";
import { createRememberedSeals, type RememberedSeal } from "./speed/remembered-seals.ts";
import { nonceSource } from "./speed/nonces.ts";
import type { ServerStore } from "./directory.ts";
import type { SessionStorage } from "./types.ts";

/** The speed-ups around the lesson, each on unless switched off (bench/speedups.ts measures each on vs off). */
export interface Speedups {
  /** SQLite: the writes of one event-loop turn share one commit (db/group-commit.ts). Full shop: −60 µs CPU per add-to-cart pair. */
  groupCommit: boolean;
  /** Each ID's sealing key derived once, and the record it last opened remembered (speed/remembered-seals.ts). −44 to −84 µs a request. */
  rememberedSeals: boolean;
  /** Nonces cut from one draw of the CSPRNG (speed/nonces.ts). −12 µs per add-to-cart pair, nothing on pages. */
  pooledNonces: boolean;
  /** The session cookie read by hand, its signature and hash remembered (speed/remembered-cookie.ts). −16 to −23 µs a request. */
  rememberedCookie: boolean;
  /** cookie-parser's work done only for the cookies a request reads (middleware/cookies.ts; app.ts). −26 to −46 µs a request. */
  lazyCookies: boolean;
  /** Redis: an update of a record this instance last read or wrote is one compare-and-set script, not lock → read → write (stores/redis-store.ts). */
  redisOneScript: boolean;
  /**
   * PostgreSQL: an update of a row this instance last read or wrote is one conditional UPDATE on its
   * version, not BEGIN → SELECT … FOR UPDATE → UPDATE → COMMIT (stores/postgres-store.ts). Full shop:
   * 5 → 2 statements and −152 µs of the shop's CPU (−120 µs of PostgreSQL's) per add to cart.
   */
  pgOneStatement: boolean;
}
export const ALL_SPEEDUPS: Speedups = {
  groupCommit: true,
  rememberedSeals: true,
  pooledNonces: true,
  rememberedCookie: true,
  lazyCookies: true,
  redisOneScript: true,
  pgOneStatement: true,
};

/**
 * What the memos answered on this request, as session events, so the X-ray never tells a class
 * "the server checked the signature" or "opened the record" when it looked it up. Read right after
 * the load (the memo's last answer was this request's, unless a touch's await let another request
 * of the same session in between: then the note can be one request off).
 */
function notingMemory(
  storage: SessionStorage,
  memos: { cookie?: { readonly lastReadRemembered: boolean }; seals?: (id: string, key: string) => RememberedSeal },
): SessionStorage {
  if (!memos.cookie && !memos.seals) return storage;
  return {
    ...storage,
    load: async (req, res) => {
      const session = await storage.load(req, res);
      const signatureRemembered = memos.cookie?.lastReadRemembered === true;
      if (signatureRemembered) session.events.push("signature-remembered");
      if (session.id && session.key && session.events.includes("loaded") && memos.seals?.(session.id, session.key).lastOpenRemembered) {
        session.events.push("opened-from-memory");
      }
      return session;
    },
  };
}

/**
 * The SQLite store as the shop runs it: the lesson's store (stores/sqlite-store.ts), its writes
 * group-committed, a busy lock waited out from the event loop and SQLite's "not now" errors turned
 * into the one 503 (db/unavailable.ts), and the listings beside it (stores/sqlite-directory.ts).
 */
export function createSqliteSessionStore(db: Db, options: { busyTimeoutMs?: number; groupCommit?: boolean } = {}): ServerStore {
  const transaction = options.groupCommit === false ? undefined : createGroupCommit(db).run;
  const store: ServerStore = { ...createSqliteStore(db, { transaction }), ...createSqliteDirectory(db) };
  return translatingUnavailable(store, { retryAsyncWhileBusyMs: options.busyTimeoutMs ?? 2000 });
}

export interface SessionLayer {
  storage: SessionStorage;
  /** null for the cookie technique. */
  store: ServerStore | null;
  /** Releases connections (Redis); nothing to do for the others. */
  close(): Promise<void>;
}

export interface SessionLayerDeps {
  config: Config;
  db: Db;
  clock: Clock;
  /** Builds the Redis store; injected so this file does not need a Redis client. */
  createRedisStore?: (config: Config, options?: { oneScript?: boolean }) => Promise<ServerStore & { close(): Promise<void> }>;
  /** Builds the PostgreSQL store (session/postgres.ts); injected for the same reason. */
  createPostgresStore?: (config: Config, options?: { oneStatement?: boolean }) => Promise<ServerStore & { close(): Promise<void> }>;
  /** Loads a student's store (SESSION_STORE=./their-store.ts, src/exercises/student-store.ts); injected for the same reason. */
  createStudentStore?: (config: Config) => Promise<ServerStore & { close(): Promise<void> }>;
  /** Builds the storage over a store: the honest one unless the classroom wraps it (src/classroom/). */
  createStorage?: (options: SessionStorageOptions) => SessionStorage;
  /** Which speed-ups to switch off (the benchmark's A/B); all on unless said. */
  speedups?: Partial<Speedups>;
}

export async function createSessionLayer({
  config,
  db,
  clock,
  createRedisStore,
  createPostgresStore,
  createStudentStore,
  createStorage = createSessionStorage,
  speedups,
}: SessionLayerDeps): Promise<SessionLayer> {
  const speed = { ...ALL_SPEEDUPS, ...speedups };
  const nonces = speed.pooledNonces ? nonceSource() : undefined;
  const overStore = (store: ServerStore, close = async () => {}): SessionLayer => {
    const cookie = speed.rememberedCookie ? createRememberedCookie(config) : undefined;
    const seals = speed.rememberedSeals ? createRememberedSeals({ nonces }) : undefined;
    const storage = createStorage({ ...config, store, clock, cookie, seals: seals ?? ((id, key) => sealFor(id, key, nonces)) });
    return { storage: notingMemory(storage, { cookie, seals }), store, close };
  };
  switch (config.sessionStore) {
    case "sqlite":
      return overStore(createSqliteSessionStore(db, { busyTimeoutMs: config.sqliteBusyTimeoutMs, groupCommit: speed.groupCommit }));
    case "memory":
      return overStore(createMemoryStore({ maxSessions: config.memoryMaxSessions }));
    case "cookie":
      return { storage: createCookieSessionStorage({ ...config, clock }), store: null, close: async () => {} };
    case "redis": {
      if (!createRedisStore) throw new Error("The redis technique is not available in this build");
      const store = await createRedisStore(config, { oneScript: speed.redisOneScript });
      return overStore(store, () => store.close());
    }
    case "postgres": {
      if (!createPostgresStore) throw new Error("The postgres technique is not available in this build");
      const store = await createPostgresStore(config, { oneStatement: speed.pgOneStatement });
      return overStore(store, () => store.close());
    }
    case "student": {
      if (!createStudentStore) throw new Error("A student's store is not available in this build");
      const store = await createStudentStore(config);
      return overStore(store, () => store.close());
    }
  }
}
