/**
 * readConfig(env): every setting the shop has, read and validated once at start-up.
 * server.ts is the only caller; everything else receives the frozen Config it returns.
 * A bad value throws a ConfigError whose message names the variable and what it expects.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  /**
   * SHUTDOWN_DELAY_SECONDS: after SIGTERM, how long the shop keeps serving (readiness probe 503,
   * every answer with Connection: close) while a balancer takes it out, before it stops listening.
   */
  readonly shutdownDelayMs: number;
  readonly databasePath: string;
  /** How long a write waits for another connection's lock before giving up with a 503. */
  readonly sqliteBusyTimeoutMs: number;
  /** First signs, all verify: add a new secret in front to rotate without logging anyone out. */
  readonly sessionSecrets: readonly string[];
  /** True when no SESSION_SECRETS were given and a random one was made (development only). */
  readonly sessionSecretsGenerated: boolean;
  /** Where that generated secret is kept between runs (development, `keepDevSecret`), or undefined: this run only. */
  readonly sessionSecretFile: string | undefined;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly cleanupIntervalMs: number;
  /** How often a read may push last-seen/expiry forward: at most one write per interval. */
  readonly touchIntervalMs: number;
  /** HTTPS: Secure cookies and the __Host- prefix. */
  readonly cookieSecure: boolean;
  readonly cookieName: string;
  /** Express "trust proxy" setting, or false. */
  readonly trustProxy: false | number | string;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "silent";
  /** Where sessions live: the three techniques of the source texts, and Redis for scale. */
  readonly sessionStore: "sqlite" | "memory" | "cookie" | "redis" | "postgres" | "student";
  /** SESSION_STORE=./a/store.ts: a student's store module (the graded exercises), loaded by session/student-store.ts. */
  readonly studentStorePath: string | null;
  readonly redisUrl: string;
  /**
   * Where the shop's own data lives (catalog, accounts, orders, stock, saved carts, instructor
   * passes): the SQLite file at databasePath (the default), or PostgreSQL at databaseUrl, which
   * every instance on every machine can share (DATA_STORE=postgres).
   */
  readonly dataStore: "sqlite" | "postgres";
  /** The PostgreSQL database of DATA_STORE=postgres and SESSION_STORE=postgres (postgres://user:password@host:port/database). */
  readonly databaseUrl: string;
  /** How long one PostgreSQL statement (or a wait for a pooled connection) may take before the request gets a 503. */
  readonly pgQueryDeadlineMs: number;
  /** Connections per instance: instances × this (+ sweepers) must stay under the server's max_connections. */
  readonly pgPoolMax: number;
  /** How long one Redis call may take before the request gets a 503 (a frozen Redis never hangs a request). */
  readonly redisTimeoutMs: number;
  /**
   * New sessions one client address may start per 10 minutes (0: no limit). A shopper who already
   * has a session is never counted; a flood that drops its cookie is (middleware/new-session-limit.ts).
   */
  readonly newSessionsPerClient: number;
  /** The memory technique's bound: at most this many sessions; beyond it new ones get a 503 (memory-store.ts). */
  readonly memoryMaxSessions: number;
  /** Names this process in a response header and the X-ray panel (several instances behind a balancer). */
  readonly instanceName: string;
  /** Classroom features (X-ray panel, labs, instructor dashboard). On by default outside production. */
  readonly classroom: boolean;
  /** The instructor dashboard is off unless this is set. */
  readonly instructorPassword: string | null;
  /** Lets the instructor switch on the deliberately vulnerable lab modes. Refused in production. */
  readonly vulnerableLabs: boolean;
  /** A label for this shop in the header (npm run classroom runs three side by side). */
  readonly shopLabel: string | null;
  /** Lab 10's "attacker" site: a second listener on this port (null: none). Only with vulnerable labs. */
  readonly attackerPort: number | null;
}

export class ConfigError extends Error {}

const MIN_SECRET_LENGTH = 32;

const integer = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const bool = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ["1", "0", "true", "false", "yes", "no", "on", "off"].includes(v), `${name} must be true or false`)
    .transform((v) => ["1", "true", "yes", "on"].includes(v));

const TECHNIQUES: readonly string[] = ["sqlite", "memory", "cookie", "redis", "postgres"];
/** A path, not a technique's name: a student's store module (npm run exercise; SESSION_STORE=./mine.ts npm start). */
const STORE_MODULE = /^(\.{1,2}\/|\/).+\.(ts|js|mjs)$/;

const schema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: integer("PORT", 0, 65535).default(3000),
  HOST: z.string().trim().min(1).optional(),
  SHUTDOWN_DELAY_SECONDS: integer("SHUTDOWN_DELAY_SECONDS", 0, 120).default(0),
  DATABASE_PATH: z.string().trim().min(1, "DATABASE_PATH must not be empty").default("db/shop.sqlite"),
  SQLITE_BUSY_TIMEOUT_MS: integer("SQLITE_BUSY_TIMEOUT_MS", 0, 60_000).default(2000),
  SESSION_SECRETS: z.string().optional(),
  SESSION_IDLE_SECONDS: integer("SESSION_IDLE_SECONDS", 10, 30 * 24 * 3600).default(1800),
  SESSION_ABSOLUTE_SECONDS: integer("SESSION_ABSOLUTE_SECONDS", 10, 365 * 24 * 3600).default(604800),
  SESSION_CLEANUP_SECONDS: integer("SESSION_CLEANUP_SECONDS", 1, 24 * 3600).default(60),
  COOKIE_SECURE: bool("COOKIE_SECURE").default(false),
  TRUST_PROXY: z.string().trim().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "silent"]).default("info"),
  SESSION_STORE: z
    .string()
    .trim()
    .refine(
      (v) => TECHNIQUES.includes(v) || STORE_MODULE.test(v),
      "SESSION_STORE must be one of sqlite, memory, cookie, redis, postgres, or the path of a store module (./exercises/01-memory-store/start.ts)",
    )
    .default("sqlite"),
  // Not implied by DATABASE_URL: that has a default and already serves SESSION_STORE=postgres, so
  // its presence cannot tell whether a deployment means to move its data. Moving it is said once, here.
  DATA_STORE: z.enum(["sqlite", "postgres"], { error: "DATA_STORE must be sqlite (the default) or postgres" }).default("sqlite"),
  REDIS_TIMEOUT_MS: integer("REDIS_TIMEOUT_MS", 50, 10_000).default(1500),
  NEW_SESSIONS_PER_CLIENT: integer("NEW_SESSIONS_PER_CLIENT", 0, 1_000_000).default(600),
  MEMORY_MAX_SESSIONS: integer("MEMORY_MAX_SESSIONS", 1, 10_000_000).default(20_000),
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\//, "REDIS_URL must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6379"),
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must start with postgres:// or postgresql://")
    .default("postgres://127.0.0.1:5432/stateful_shop"),
  PG_QUERY_DEADLINE_MS: integer("PG_QUERY_DEADLINE_MS", 50, 10_000).default(1500),
  PG_POOL_MAX: integer("PG_POOL_MAX", 1, 100).default(10),
  INSTANCE_NAME: z
    .string()
    .trim()
    .regex(/^[\w.:-]{1,40}$/, "INSTANCE_NAME: letters, digits, . : _ - (at most 40)")
    .optional(),
  CLASSROOM: bool("CLASSROOM").optional(),
  INSTRUCTOR_PASSWORD: z.string().min(12, "INSTRUCTOR_PASSWORD must have at least 12 characters").optional(),
  CLASSROOM_VULNERABLE_LABS: bool("CLASSROOM_VULNERABLE_LABS").default(false),
  SHOP_LABEL: z.string().trim().max(40, "SHOP_LABEL: at most 40 characters").optional(),
  CLASSROOM_ATTACKER_PORT: integer("CLASSROOM_ATTACKER_PORT", 1, 65535).optional(),
});

function parseTrustProxy(value: string | undefined): false | number | string {
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true") {
    // "true" trusts every hop, which lets any client spoof its IP (and so dodge rate limits).
    throw new ConfigError("TRUST_PROXY=true trusts every proxy hop; give the number of proxies (e.g. 1) or their addresses");
  }
  return /^\d+$/.test(value) ? Number(value) : value;
}

export interface ReadConfigOptions {
  /**
   * Development without SESSION_SECRETS: keep the generated secret in a git-ignored file beside the
   * database, so a restart (every `npm run dev` reload) does not sign everybody out. Only the real
   * server asks for this; tests and one-off scripts get a secret for the run only.
   */
  keepDevSecret?: boolean;
}

/**
 * @param env usually process.env
 * @param root the project folder, so relative paths do not depend on the working directory
 */
export function readConfig(env: Record<string, string | undefined>, root: string, options: ReadConfigOptions = {}): Config {
  // Treat empty variables as unset, the way most shells and .env files mean them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "config"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";

  let sessionSecrets = (e.SESSION_SECRETS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const sessionSecretsGenerated = sessionSecrets.length === 0;
  let sessionSecretFile: string | undefined;
  if (sessionSecretsGenerated) {
    if (production) {
      throw new ConfigError(
        "SESSION_SECRETS is required in production: a comma-separated list of random strings of at least 32 characters " +
          "(make one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\")",
      );
    }
    // Development only: a random secret, never a sample secret from the repo.
    sessionSecretFile = options.keepDevSecret ? path.join(path.dirname(path.resolve(root, e.DATABASE_PATH)), ".session-secret") : undefined;
    sessionSecrets = [sessionSecretFile ? developmentSecret(sessionSecretFile) : randomSecret()];
  }
  const short = sessionSecrets.findIndex((s) => s.length < MIN_SECRET_LENGTH);
  if (short !== -1) {
    throw new ConfigError(`SESSION_SECRETS: secret #${short + 1} is shorter than ${MIN_SECRET_LENGTH} characters`);
  }

  if (e.SESSION_ABSOLUTE_SECONDS < e.SESSION_IDLE_SECONDS) {
    throw new ConfigError("SESSION_ABSOLUTE_SECONDS must be at least SESSION_IDLE_SECONDS");
  }
  const idleTimeoutMs = e.SESSION_IDLE_SECONDS * 1000;
  if (production && e.CLASSROOM_VULNERABLE_LABS) {
    // The labs' broken modes (fixation, sequential IDs, cookie-only logout) must never meet real users.
    throw new ConfigError("CLASSROOM_VULNERABLE_LABS cannot be enabled in production (NODE_ENV=production)");
  }

  if (e.CLASSROOM_ATTACKER_PORT !== undefined && !e.CLASSROOM_VULNERABLE_LABS) {
    // An attacker page is only worth serving when the shop can be made vulnerable to it (lab 10).
    throw new ConfigError("CLASSROOM_ATTACKER_PORT needs CLASSROOM_VULNERABLE_LABS=1 (lab 10's attacker site)");
  }
  if (e.CLASSROOM_ATTACKER_PORT !== undefined && e.CLASSROOM_ATTACKER_PORT === e.PORT) {
    throw new ConfigError("CLASSROOM_ATTACKER_PORT must differ from PORT");
  }

  const studentStorePath = STORE_MODULE.test(e.SESSION_STORE) ? path.resolve(root, e.SESSION_STORE) : null;
  if (studentStorePath !== null && production) {
    throw new ConfigError("SESSION_STORE names a store module: that is for the classroom's exercises, not for production");
  }
  if (studentStorePath !== null && !fs.existsSync(studentStorePath)) {
    throw new ConfigError(`SESSION_STORE=${e.SESSION_STORE}: there is no such file (${studentStorePath})`);
  }

  return Object.freeze({
    production,
    port: e.PORT,
    host: e.HOST ?? "0.0.0.0",
    shutdownDelayMs: e.SHUTDOWN_DELAY_SECONDS * 1000,
    databasePath: path.resolve(root, e.DATABASE_PATH),
    sqliteBusyTimeoutMs: e.SQLITE_BUSY_TIMEOUT_MS,
    sessionSecrets: Object.freeze(sessionSecrets),
    sessionSecretsGenerated,
    sessionSecretFile,
    idleTimeoutMs,
    absoluteTimeoutMs: e.SESSION_ABSOLUTE_SECONDS * 1000,
    cleanupIntervalMs: e.SESSION_CLEANUP_SECONDS * 1000,
    // One write per minute at most, and often enough that a short classroom timeout still slides.
    touchIntervalMs: Math.min(60_000, Math.floor(idleTimeoutMs / 10)),
    cookieSecure: e.COOKIE_SECURE,
    // __Host- requires Secure, Path=/ and no Domain: the browser then refuses a cookie
    // of that name planted by a sibling subdomain or over plain HTTP.
    cookieName: e.COOKIE_SECURE ? "__Host-shop_sid" : "shop_sid",
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    logLevel: e.LOG_LEVEL,
    sessionStore: studentStorePath === null ? (e.SESSION_STORE as Exclude<Config["sessionStore"], "student">) : "student",
    studentStorePath,
    redisUrl: e.REDIS_URL,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    newSessionsPerClient: e.NEW_SESSIONS_PER_CLIENT,
    memoryMaxSessions: e.MEMORY_MAX_SESSIONS,
    dataStore: e.DATA_STORE,
    databaseUrl: e.DATABASE_URL,
    pgQueryDeadlineMs: e.PG_QUERY_DEADLINE_MS,
    pgPoolMax: e.PG_POOL_MAX,
    instanceName: e.INSTANCE_NAME ?? `shop-${e.PORT}`,
    classroom: e.CLASSROOM ?? !production,
    instructorPassword: e.INSTRUCTOR_PASSWORD ?? null,
    vulnerableLabs: e.CLASSROOM_VULNERABLE_LABS,
    shopLabel: e.SHOP_LABEL ?? null,
    attackerPort: e.CLASSROOM_ATTACKER_PORT ?? null,
  });
}

const randomSecret = () => randomBytes(32).toString("base64url");

/**
 * The development secret kept in `file` (made on first use), readable by its owner only (0600).
 * It is written to a temporary file and then hard-linked into place: the link either appears
 * whole or fails with EEXIST, so two shops starting at once (npm run classroom) never read half
 * a secret and both end up with the same one. A file that is too short is replaced, never trusted.
 */
export function developmentSecret(file: string): string {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const kept = fs.readFileSync(file, "utf8").trim();
      if (kept.length >= MIN_SECRET_LENGTH) return kept;
      fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError(`Cannot read the development secret ${file}: ${String(error)}`);
    }
    const secret = randomSecret();
    const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(temp, `${secret}\n`, { mode: 0o600 });
      fs.linkSync(temp, file);
      return secret;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new ConfigError(`Cannot write the development secret ${file}: ${String(error)}`);
      // Another process won the race: read its secret on the next turn.
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }
  throw new ConfigError(`Cannot settle on a development secret in ${file}`);
}
