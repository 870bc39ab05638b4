/**
 * Test harness: the real app on a real SQLite file in a temp folder, listening on an
 * ephemeral port, with a manual clock; and a tiny cookie-carrying HTTP client.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createManualClock } from "../clock.ts";
import { readConfig } from "../config.ts";
import { migrate, seedCatalog } from "../db/migrate.ts";
import { openDatabase } from "../db/open.ts";
import { createLogger } from "../log.ts";
import { createShop } from "../shop.ts";
import type { Speedups } from "../session/technique.ts";
import type { ServerStore } from "../session/directory.ts";
import { hashSessionId } from "../session/id.ts";
import { after, before } from "node:test";
import { type PostgresServer, startPostgresServer } from "./postgres-server.ts";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SECRET_A = "test-secret-a-0123456789abcdefghijklmnop";
export const SECRET_B = "test-secret-b-0123456789abcdefghijklmnop";

export function tempDir(prefix = "shop-test-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A migrated, seeded database file in a fresh temp folder. */
export function freshDatabase(dir = tempDir(), busyTimeoutMs?: number) {
  const file = path.join(dir, "shop.sqlite");
  const db = openDatabase(file, { busyTimeoutMs });
  migrate(db, path.join(root, "db/migrations"));
  seedCatalog(db, path.join(root, "db/seed.sql"));
  return { db, file, dir };
}

/** Where a parametrised test keeps the shop's data: each feature test runs on both (issue 26). */
const ALL_DATA_STORES = ["sqlite", "postgres"] as const;
export type DataStore = (typeof ALL_DATA_STORES)[number];
/**
 * The databases the shop's data is tested on: both, unless TEST_DATA_STORES names fewer.
 * `npm run test:fast` (scripts/test-fast.ts) sets it to sqlite, says so when it starts, and leaves
 * PostgreSQL to `npm test`, which always runs both.
 */
export const DATA_STORES: readonly DataStore[] = process.env.TEST_DATA_STORES
  ? ALL_DATA_STORES.filter((d) => process.env.TEST_DATA_STORES!.split(",").includes(d))
  : ALL_DATA_STORES;

/**
 * For a test file that runs on both databases: one throwaway PostgreSQL cluster for the whole file
 * (started before its first test, stopped after its last), and a fresh database on it for every
 * shop. `env(data)` is what to add to startTestApp's env: nothing for SQLite (a fresh file already).
 */
export function postgresForData() {
  let server: PostgresServer | null = null;
  before(async () => {
    if (DATA_STORES.includes("postgres")) server = await startPostgresServer();
  });
  after(async () => {
    await server?.close();
  });
  return {
    async env(data: DataStore): Promise<Record<string, string>> {
      if (data === "sqlite") return {};
      if (!server) throw new Error("postgresForData(): the cluster starts in a before() hook: call env() from a test or a hook");
      return { DATA_STORE: "postgres", DATABASE_URL: await server.database() };
    },
    get server() {
      if (!server) throw new Error("the cluster has not started yet");
      return server;
    },
  };
}

export async function startTestApp(env: Record<string, string> = {}, options: { dir?: string; speedups?: Partial<Speedups> } = {}) {
  const dir = options.dir ?? tempDir();
  const config = readConfig({ DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: SECRET_A, LOG_LEVEL: "silent", ...env }, root);
  const clock = createManualClock();
  // Tests move time with clock.advance(); the cleanup job only runs when asked ("sweep now").
  // scrypt at 1/8 of OWASP's cost (16 MiB, a few ms): tests sign in hundreds of times; the cost itself is password.test.ts's.
  const passwordParams = { N: 2 ** 14, r: 8, p: 1 };
  const shop = await createShop(config, {
    clock,
    log: createLogger("silent"),
    root,
    cleanup: { intervalMs: 24 * 3600_000 },
    passwordParams,
    speedups: options.speedups,
  });
  await shop.cleanup?.firstRun;
  const { app, db, classroom, sessions, sql } = shop;
  // The cookie technique has no store; tests of that technique do not use this field.
  const store = shop.store as ServerStore;
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    /** The SQLite file (sessions of the sqlite technique; the shop's data too unless DATA_STORE=postgres). */
    db,
    /** The shop's data, wherever DATA_STORE put it: assertions on orders, stock, accounts use this. */
    sql,
    dir,
    clock,
    classroom,
    store,
    sessions,
    config,
    client: () => new Client(url),
    sessionRows: () => db.prepare("SELECT * FROM sessions").all() as SessionRowForTest[],
    /** Copy session rows in from another test app, as if both were the same shop restarted. */
    adoptSessions(rows: SessionRowForTest[]) {
      const insert = db.prepare("INSERT INTO sessions VALUES (@id_hash, @data, @user_id, @created_at, @last_seen_at, @expires_at, @user_agent)");
      for (const row of rows) insert.run(row);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await shop.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SessionRowForTest {
  id_hash: string;
  user_agent: string | null;
  data: string;
  user_id: number | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  setCookies: string[];
}

/**
 * Carries cookies like a browser (name → raw value), the CSRF token of the last page it saw, and
 * the checkout token of the last checkout form it saw (post() does not add that one by itself).
 */
export class Client {
  readonly cookies = new Map<string, string>();
  csrf = "";
  /** The instructor pass's own token (src/classroom/instructor-auth.ts), from the last page that had one. */
  instructorCsrf = "";
  /** Give up on a request after this long (fault tests: "no request hangs"); a timeout rejects with a TimeoutError. */
  timeoutMs: number | undefined;
  checkoutToken = "";
  readonly baseUrl: string;
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async request(method: string, urlPath: string, init: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0 && headers.cookie === undefined) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const signal = this.timeoutMs === undefined ? undefined : AbortSignal.timeout(this.timeoutMs);
    const res = await fetch(this.baseUrl + urlPath, { method, headers, body, redirect: "manual", signal });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expires = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith("expires="));
      const expired = (expires && Date.parse(expires.slice(8)) < Date.now()) || /max-age=0\b/i.test(line);
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const token = /name="_csrf" value="([^"]*)"/.exec(text);
    if (token) this.csrf = token[1]!;
    const instructor = /name="_instructor" value="([^"]+)"/.exec(text);
    if (instructor) this.instructorCsrf = instructor[1]!;
    const checkout = /name="checkoutToken" value="([^"]*)"/.exec(text);
    if (checkout) this.checkoutToken = checkout[1]!;
    return { status: res.status, headers: res.headers, text, location: res.headers.get("location"), setCookies };
  }

  get(urlPath: string, headers?: Record<string, string>) {
    return this.request("GET", urlPath, { headers });
  }

  /** POST a form with the CSRF token of the last page seen (like a browser submitting that page's form). */
  post(urlPath: string, form: Record<string, string> = {}, headers?: Record<string, string>) {
    const instructor: Record<string, string> = this.instructorCsrf ? { _instructor: this.instructorCsrf } : {};
    return this.request("POST", urlPath, { form: { _csrf: this.csrf, ...instructor, ...form }, headers });
  }

  /** The session ID inside the signed cookie value "s:<id>.<signature>". */
  sessionId(name = "shop_sid"): string | undefined {
    const raw = this.cookies.get(name);
    if (!raw) return undefined;
    const decoded = decodeURIComponent(raw);
    return decoded.slice(2, decoded.lastIndexOf("."));
  }

  sessionKey(name = "shop_sid") {
    const id = this.sessionId(name);
    return id && hashSessionId(id);
  }

  /** The number in the header badge, read from its accessible name. */
  static badge(html: string): number {
    const m = /aria-label="Cart, (\d+) items?"/.exec(html);
    if (!m) throw new Error("no cart badge on the page");
    return Number(m[1]);
  }
}

/**
 * A form POST from `c` (its cookies and CSRF token) whose body is held back until finish(): the
 * server has the headers, and so the cookie, and loads the session while it waits for the rest.
 * Tests use it to end or break something between "session loaded" and "session written".
 */
export function slowPost(c: Client, urlPath: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const body = new URLSearchParams({ _csrf: c.csrf, ...form }).toString();
  const req = http.request(`${c.baseUrl}${urlPath}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body), cookie: c.cookieHeader(), ...headers },
  });
  const reply = new Promise<{ status: number; type: string; text: string; setCookie: string[]; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          type: String(res.headers["content-type"] ?? ""),
          text,
          setCookie: res.headers["set-cookie"] ?? [],
          headers: res.headers,
        }),
      );
    });
    req.on("error", reject);
  });
  req.write(body.slice(0, 10));
  return {
    finish() {
      req.end(body.slice(10));
      return reply;
    },
  };
}

/**
 * Wait until a request (a slowPost) has loaded the session under `key`. Move the clock past the
 * touch interval before sending it: loading then writes the session's last-seen time, which is
 * what this waits to see in the store. The sleep waits for the real server, not for a clock.
 */
export async function untilSessionLoaded(app: { store: ServerStore; clock: { now(): number } }, key: string) {
  for (let waited = 0; waited < 5_000; waited += 5) {
    if ((await app.store.peek(key))?.lastSeenAt === app.clock.now()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the server never loaded the session");
}

/** Add a product as a shopper would: load a page (for the CSRF token), then post the form. */
export async function addToCart(client: Client, productId: number, quantity = 1) {
  if (client.cookies.size > 0) await client.get("/");
  return client.post("/cart/items", { productId: String(productId), quantity: String(quantity), returnTo: "/cart" });
}

export async function cartOf(client: Client): Promise<Map<number, number>> {
  const res = await client.get("/cart");
  const lines = new Map<number, number>();
  for (const m of res.text.matchAll(/action="\/cart\/items\/(\d+)" class="qty-form">[\s\S]*?value="(\d+)" required>/g)) {
    lines.set(Number(m[1]), Number(m[2]));
  }
  return lines;
}

export async function register(client: Client, email = `shopper-${Math.random().toString(36).slice(2)}@example.com`, password = "correct horse battery") {
  await client.get("/register");
  const res = await client.post("/register", { email, password });
  if (res.status !== 303) throw new Error(`register failed: ${res.status} ${res.text.slice(0, 300)}`);
  return { email, password };
}

/** Open the checkout form and submit it (with its checkout token), like a shopper pressing "Place order". */
export async function checkout(client: Client, form: Record<string, string>) {
  await client.get("/checkout");
  return client.post("/checkout", { checkoutToken: client.checkoutToken, ...form });
}

/** The real server as `npm start` runs it, in a child process on an ephemeral port. */
export function startServerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ["src/server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line:\n${output}`)), 30_000);
    child.stdout.on("data", () => {
      const m = /"port":(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    });
    child.on("exit", () => {
      clearTimeout(timer); // else a process that exits at start keeps the test file alive for 30 s
      reject(new Error(`exited early:\n${output}`));
    });
  });
  listening.catch(() => undefined); // callers that expect an early exit need not wait for this
  return { child, exited, listening, output: () => output };
}

/** Extra products with plenty of stock, for tests that need more distinct products than the demo catalog has. */
export function addTestProducts(db: ReturnType<typeof openDatabase>, count: number, firstId = 1001): number[] {
  const insert = db.prepare(
    "INSERT INTO products (id, category_id, slug, name, description, image, price_cents, stock) VALUES (?, 1, ?, ?, 'A test product.', 'ceramic-teapot.svg', 100, 1000)",
  );
  const ids = Array.from({ length: count }, (_, i) => firstId + i);
  db.transaction(() => {
    for (const id of ids) insert.run(id, `test-product-${id}`, `Test Product ${id}`);
  }).immediate();
  return ids;
}

type TestApp = Awaited<ReturnType<typeof startTestApp>>;

/**
 * "The same shop, restarted with other settings": a second app on a copy of `from`'s sessions,
 * its clock at `from`'s time plus `advanceMs`, and a client carrying `browser`'s session cookie.
 * The caller closes `shop`.
 */
export async function restartShop(from: TestApp, browser: Client, env: Record<string, string>, advanceMs = 0) {
  const shop = await startTestApp(env);
  shop.adoptSessions(from.sessionRows());
  shop.clock.advance(from.clock.now() - shop.clock.now() + advanceMs);
  const moved = new Client(shop.url);
  moved.cookies.set("shop_sid", browser.cookies.get("shop_sid")!);
  return { shop, moved };
}
