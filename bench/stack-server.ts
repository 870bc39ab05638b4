/**
 * One benchmark stack in its own process: the same two tiny routes on top of one session layer.
 *
 *   GET  /browse  render an EJS page of 24 products with the cart count   (a session read)
 *   POST /add     add one product to the cart                               (a session write)
 *
 *   node bench/stack-server.ts <stack> <dir>     → prints {"port": n} when listening
 *
 * Stacks: none (no session: the limit) and none-control (the same, a second process), ours-sqlite, ours-memory, ours-cookie, ours-redis (REDIS_URL),
 * ours-postgres (DATABASE_URL), es-memory (express-session + MemoryStore), es-bs3 (express-session +
 * better-sqlite3-session-store, WAL), es-sqlite3 (express-session + connect-sqlite3), es-redis
 * (express-session + connect-redis, REDIS_URL), es-pg (express-session + connect-pg-simple, ES_PG_URL),
 * cookie-session. Every stack uses its library's
 * recommended secure settings (HttpOnly, SameSite=Lax, signed or sealed cookies, no session
 * created for nothing) so the comparison is like for like.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import cookieSession from "cookie-session";
import ejs from "ejs";
import express, { type Request, type RequestHandler, type Response } from "express";
import session from "express-session";
import { formatCents } from "../src/cart/money.ts";
import { createCatalog } from "../src/catalog/catalog.ts";
import { createSqliteSql } from "../src/db/sql.ts";
import { systemClock } from "../src/clock.ts";
import { readConfig } from "../src/config.ts";
import { lazyCookies } from "../src/middleware/cookies.ts";
import { createSessionLayer } from "../src/session/technique.ts";
import { loadSession } from "../src/session/middleware.ts";
import { connectRedisStore } from "../src/session/redis.ts";
import { connectPostgresStore } from "../src/session/postgres.ts";
import type { CartLine, SessionStorage } from "../src/session/types.ts";
import { freshDatabase } from "../src/test/harness.ts";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [stack = "none", dir = ""] = process.argv.slice(2);
const SECRET = "bench-secret-0123456789-0123456789-0123";
const { db } = freshDatabase(dir);
const products = (await (await createCatalog(createSqliteSql(db))).search("")).slice(0, 24);
if (products.length < 24) throw new Error("the benchmark needs 24 products in the catalog");

// EJS compiled once, as Express's view cache does in production.
const template = ejs.compile(require("node:fs").readFileSync(path.join(root, "bench/views/browse.ejs"), "utf8"));
const page = (cartCount: number) => template({ products, cartCount, formatCents });
const countOf = (cart: readonly CartLine[] | undefined) => (cart ?? []).reduce((n, l) => n + l.quantity, 0);
/** The cart rule of the shop, minimal: one more of a product (wraps at 10 so the cart stays small). */
const addOne = (cart: readonly CartLine[] | undefined, productId: number): CartLine[] => {
  const lines = cart ?? [];
  const line = lines.find((l) => l.productId === productId);
  if (!line) return [...lines, { productId, quantity: 1 }];
  return lines.map((l) => (l === line ? { ...l, quantity: (l.quantity % 10) + 1 } : l));
};
const productOf = (req: Request) => Number((req.body as { productId?: string } | undefined)?.productId ?? 1) || 1;

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false, limit: "1kb" }));

/** Ours: the session layer as the shop composes it (technique.ts), with the shop's lazy cookie-parser. */
function ours(storage: SessionStorage) {
  lazyCookies(app.request, [SECRET]);
  app.use(loadSession(storage));
  app.get("/browse", (req, res) => void res.send(page(countOf(req.session.data.cart))));
  app.post("/add", async (req, res) => {
    const id = productOf(req);
    await storage.change(req.session, res, (data) => ({ ...data, cart: addOne(data.cart, id) }));
    res.status(204).end();
  });
}

type LegacySession = { cart?: CartLine[] };
function legacy(middleware: RequestHandler) {
  app.use(middleware);
  const cartOf = (req: Request) => (req as unknown as { session: LegacySession }).session;
  app.get("/browse", (req, res) => void res.send(page(countOf(cartOf(req)?.cart))));
  app.post("/add", (req, res) => {
    const s = cartOf(req);
    s.cart = addOne(s.cart, productOf(req));
    res.status(204).end();
  });
}

const settings = { ...readConfig({ SESSION_SECRETS: SECRET, DATABASE_PATH: path.join(dir, "shop.sqlite") }, root), clock: systemClock };
const cookie = { httpOnly: true, sameSite: "lax" as const, secure: false, maxAge: settings.idleTimeoutMs };
const es = (store?: session.Store) => session({ secret: SECRET, name: "sid", resave: false, saveUninitialized: false, rolling: false, cookie, store });

switch (stack) {
  case "none":
  case "none-control": // a second, identical limit process: if the two disagree, the run is noise
    app.get("/browse", (_req, res) => void res.send(page(0)));
    app.post("/add", (req, res) => {
      addOne([], productOf(req));
      res.status(204).end();
    });
    break;
  case "ours-sqlite":
  case "ours-memory":
  case "ours-cookie":
  case "ours-redis":
  case "ours-postgres": {
    const sessionStore = stack.slice("ours-".length) as "sqlite" | "memory" | "cookie" | "redis" | "postgres";
    const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    // PostgreSQL with the shop's own settings: a pool of 10, a 1.5 s deadline per statement.
    const databaseUrl = process.env.DATABASE_URL ?? settings.databaseUrl;
    const layer = await createSessionLayer({
      config: { ...settings, sessionStore, redisUrl, redisTimeoutMs: 1500, databaseUrl },
      db,
      clock: systemClock,
      createRedisStore: (config) => connectRedisStore(config),
      createPostgresStore: (config) => connectPostgresStore(config, root),
    });
    ours(layer.storage);
    break;
  }
  case "es-memory":
    legacy(es());
    break;
  case "es-bs3": {
    // Its own file: this store also names its table "sessions". WAL, as its README recommends.
    const Database = require("better-sqlite3");
    const client = new Database(path.join(dir, "sessions-bs3.sqlite"));
    client.pragma("journal_mode = WAL");
    const SqliteStore = require("better-sqlite3-session-store")(session);
    legacy(es(new SqliteStore({ client, expired: { clear: true, intervalMs: 15 * 60_000 } })));
    break;
  }
  case "es-sqlite3": {
    const SQLiteStore = require("connect-sqlite3")(session);
    legacy(es(new SQLiteStore({ db: "sessions-connect.sqlite", dir })));
    break;
  }
  case "es-redis": {
    // connect-redis's README setup: a node-redis client, the store with a prefix of its own.
    const { createClient } = await import("redis");
    const { RedisStore } = await import("connect-redis");
    const client = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
    await client.connect();
    legacy(es(new RedisStore({ client, prefix: "es:" })));
    break;
  }
  case "es-pg": {
    // connect-pg-simple's README setup: a pg pool (same size as ours), its own table, pruning left on.
    const { default: pg } = await import("pg");
    const PgStore = require("connect-pg-simple")(session);
    const pool = new pg.Pool({ connectionString: process.env.ES_PG_URL, max: 10 });
    legacy(es(new PgStore({ pool, createTableIfMissing: true })));
    break;
  }
  case "cookie-session":
    legacy(cookieSession({ name: "session", keys: [SECRET], ...cookie }) as unknown as RequestHandler);
    break;
  default:
    throw new Error(`unknown stack ${stack}`);
}
app.use((err: unknown, _req: Request, res: Response, _next: unknown) => {
  console.error(err);
  res.status(500).end();
});

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
