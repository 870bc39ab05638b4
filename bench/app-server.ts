/**
 * The full shop for `npm run bench`, in its own process, with sessions on (the SQLite technique,
 * as `npm start` runs it) or off: a fixed session that is never stored (the limit: the same pages
 * and the same work minus the session layer).
 *
 *   node bench/app-server.ts <app-on|app-off> <dir>   → prints {"port": n}
 *
 * BENCH_WITHOUT=<speed-up>[,…] switches speed-ups off (src/session/technique.ts), for bench/speedups.ts;
 * SESSION_STORE and REDIS_URL or DATABASE_URL, when set, choose another technique (SQLite unless said).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../src/clock.ts";
import { readConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import type { Session, SessionStorage } from "../src/session/types.ts";
import { createShop } from "../src/shop.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [mode = "app-on", dir = ""] = process.argv.slice(2);
const config = readConfig(
  {
    DATABASE_PATH: path.join(dir, "shop.sqlite"),
    SESSION_SECRETS: "bench-secret-0123456789-0123456789-0123",
    LOG_LEVEL: "silent",
    CLASSROOM: "false",
    NEW_SESSIONS_PER_CLIENT: "0", // one address makes all the benchmark's shoppers
    // bench/speedups.ts runs the Redis technique's A/B through these, bench/pg-write.ts the PostgreSQL one's.
    ...(process.env.SESSION_STORE ? { SESSION_STORE: process.env.SESSION_STORE } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  },
  root,
);

/** Sessions switched off: every request gets the same unsaved session with one cart line. */
const noSessions: SessionStorage = {
  technique: "memory",
  cookieName: config.cookieName,
  load: async (): Promise<Session> => ({
    id: "bench-fixed-session-id-not-stored-anywhere-0",
    key: "0".repeat(64),
    data: { cart: [{ productId: 2, quantity: 1 }] },
    userId: null,
    createdAt: 0,
    lastSeenAt: 0,
    expiresAt: 0,
    events: [],
  }),
  change: async (session, _res, mutate) => void mutate(session.data),
  regenerate: async () => {},
  destroy: async () => {},
};

// No cleanup job: the benchmark measures requests, not a sweep competing with them (bench:cleanup does that).
const shop = await createShop(config, {
  clock: systemClock,
  log: createLogger("silent"),
  root,
  cleanup: "off",
  speedups: Object.fromEntries(
    (process.env.BENCH_WITHOUT ?? "")
      .split(",")
      .filter(Boolean)
      .map((name) => [name, false]),
  ),
  ...(mode === "app-on" ? {} : { sessions: noSessions }),
});
const server = shop.app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
