/**
 * SESSION_STORE → the session layer: a storage (the four calls routes use) and, for the
 * server-side techniques, the store behind it (for the cleanup job, "your active sessions"
 * and the instructor view). The cookie technique has no store: there is nothing on the server.
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/open.ts";
import { createCookieSessionStorage } from "./cookie-storage.ts";
import { createSessionStorage, type SessionStorageOptions } from "./storage.ts";
import { createMemoryStore } from "./stores/memory-store.ts";
import { createSqliteStore } from "./stores/sqlite-store.ts";
import type { ServerStore } from "./directory.ts";
import type { SessionStorage } from "./types.ts";

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
  createRedisStore?: (config: Config) => Promise<ServerStore & { close(): Promise<void> }>;
  /** Builds the PostgreSQL store (session/postgres.ts); injected for the same reason. */
  createPostgresStore?: (config: Config) => Promise<ServerStore & { close(): Promise<void> }>;
  /** Builds the storage over a store: the honest one unless the classroom wraps it (src/classroom/). */
  createStorage?: (options: SessionStorageOptions) => SessionStorage;
}

export async function createSessionLayer({
  config,
  db,
  clock,
  createRedisStore,
  createPostgresStore,
  createStorage = createSessionStorage,
}: SessionLayerDeps): Promise<SessionLayer> {
  const overStore = (store: ServerStore, close = async () => {}): SessionLayer => ({
    storage: createStorage({ ...config, store, clock }),
    store,
    close,
  });
  switch (config.sessionStore) {
    case "sqlite":
      return overStore(createSqliteStore(db, { busyTimeoutMs: config.sqliteBusyTimeoutMs }));
    case "memory":
      return overStore(createMemoryStore({ maxSessions: config.memoryMaxSessions }));
    case "cookie":
      return { storage: createCookieSessionStorage({ ...config, clock }), store: null, close: async () => {} };
    case "redis": {
      if (!createRedisStore) throw new Error("The redis technique is not available in this build");
      const store = await createRedisStore(config);
      return overStore(store, () => store.close());
    }
    case "postgres": {
      if (!createPostgresStore) throw new Error("The postgres technique is not available in this build");
      const store = await createPostgresStore(config);
      return overStore(store, () => store.close());
    }
  }
}
