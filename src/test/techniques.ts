/**
 * One test body, several server-side techniques: the shop (startTestApp) on SQLite, PostgreSQL or
 * the memory store, and what its store keeps, read past the session layer, the same way on each
 * (key hash, sealed data, user, times): SQLite's table, PostgreSQL's table through a connection of
 * its own, the memory store's records. PostgreSQL: one cluster per test file, started on first use,
 * a fresh database per shop; the file calls `closeTechniques` after its tests.
 *
 * Redis is not here: it would need a server and a flush per test, and the Redis tests of its own
 * (redis-technique, redis-faults, the one-script test) cover what it adds.
 */
import pg from "pg";
import { Client, restartShop, type SessionRowForTest, startTestApp } from "./harness.ts";
import { type PostgresServer, startPostgresServer } from "./postgres-server.ts";

export type ServerTechnique = "sqlite" | "postgres" | "memory";
export const SERVER_TECHNIQUES: readonly ServerTechnique[] = ["sqlite", "postgres", "memory"];

type TestApp = Awaited<ReturnType<typeof startTestApp>>;
export type TechniqueApp = TestApp & { technique: ServerTechnique; rows(): Promise<SessionRowForTest[]> };

let postgres: Promise<PostgresServer> | null = null;

/** Stop this file's PostgreSQL cluster, if a test started one. */
export async function closeTechniques() {
  const server = postgres;
  postgres = null;
  if (server !== null) await (await server).close();
}

/** The rows the store holds now, as SQLite's `SELECT * FROM sessions` gives them (times as numbers). */
async function storedRows(app: TestApp): Promise<SessionRowForTest[]> {
  switch (app.config.sessionStore) {
    case "sqlite":
      return app.sessionRows();
    case "postgres": {
      const client = new pg.Client({ connectionString: app.config.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<Record<keyof SessionRowForTest, string | number | null>>(
          "SELECT id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent FROM sessions",
        );
        // bigint arrives as text: the same numbers SQLite gives.
        return rows.map((r) => ({
          ...(r as unknown as SessionRowForTest),
          created_at: Number(r.created_at),
          last_seen_at: Number(r.last_seen_at),
          expires_at: Number(r.expires_at),
        }));
      } finally {
        await client.end();
      }
    }
    default:
      // The memory store is this process: its records are the rows.
      return (await app.store.listAll(1_000_000)).map((s) => ({
        id_hash: s.key,
        data: JSON.stringify(s.data),
        user_id: s.userId,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
        user_agent: s.userAgent,
      }));
  }
}

const storeEnv = async (technique: ServerTechnique): Promise<Record<string, string>> => {
  if (technique !== "postgres") return { SESSION_STORE: technique };
  postgres ??= startPostgresServer();
  return { SESSION_STORE: "postgres", DATABASE_URL: await (await postgres).database() };
};

const withRows = (app: TestApp, technique: ServerTechnique): TechniqueApp => Object.assign(app, { technique, rows: () => storedRows(app) });

/** The shop on `technique` (PostgreSQL: a fresh database), as startTestApp makes it. */
export async function startTechniqueApp(technique: ServerTechnique, env: Record<string, string> = {}, options?: Parameters<typeof startTestApp>[1]) {
  return withRows(await startTestApp({ ...(await storeEnv(technique)), ...env }, options), technique);
}

/**
 * "The same shop, restarted with other settings" (harness.ts's restartShop) on each technique:
 * SQLite copies the rows into a new file; PostgreSQL's second shop uses the same database (the
 * rows are where they were); the memory store gets the records created again in the new process's
 * store (a memory store would lose them in a real restart: this is the migration an operator would do).
 */
export async function restartTechniqueShop(from: TechniqueApp, browser: Client, env: Record<string, string>, advanceMs = 0) {
  if (from.technique === "sqlite") {
    const { shop, moved } = await restartShop(from, browser, env, advanceMs);
    return { shop: withRows(shop, "sqlite"), moved };
  }
  const same: Record<string, string> =
    from.technique === "postgres" ? { SESSION_STORE: "postgres", DATABASE_URL: from.config.databaseUrl } : { SESSION_STORE: from.technique };
  const shop = withRows(await startTestApp({ ...same, ...env }), from.technique);
  if (from.technique === "memory") for (const { key, ...record } of await from.store.listAll(1_000_000)) await shop.store.create(key, record);
  shop.clock.advance(from.clock.now() - shop.clock.now() + advanceMs);
  const moved = new Client(shop.url);
  moved.cookies.set("shop_sid", browser.cookies.get("shop_sid")!);
  return { shop, moved };
}
