/**
 * Playwright end-to-end suite for Stateful Shop: `npx playwright test` from the repo root.
 *
 * It starts its own server (webServer) on a fixed port with a fresh SQLite file in a temp dir.
 * Playwright re-evaluates this file in every worker process, so the temp dir is created once
 * (in the runner) and its path handed down through process.env.E2E_DB_DIR; specs that peek at
 * the database read it from there (e2e/helpers.ts → openDb()).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

if (!process.env.E2E_DB_DIR) {
  process.env.E2E_DB_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-shop-e2e-"));
}

/**
 * The whole suite runs once per session technique (CI runs all five: sqlite, memory, cookie, redis, postgres), and once more with the data in PostgreSQL (postgres-data): one server per technique,
 * each with its own database file, and one Playwright project per server. Specs ask
 * `technique()` (e2e/helpers.ts) where the behaviour must differ, and assert the difference.
 * Specs under e2e/labs-isolated/ and e2e/isolated/ start their own servers (restarts, demo clock,
 * vulnerable modes change a whole server), so they run once, in the sqlite project; a spec there
 * that concerns every technique starts one shop per technique itself.
 */
// E2E_PORT_BASE moves the six servers (3217–3222 by default), so two checkouts can run the suite at once.
const portBase = Number(process.env.E2E_PORT_BASE ?? 3217);
/**
 * `postgres-data`: the shopper's stories once more with the shop's own data (catalog, accounts,
 * orders, stock, saved carts) in PostgreSQL (DATA_STORE=postgres) and the sessions in the instance's
 * local SQLite file, as each host of a multi-host shop would run them (e2e/postgres-data-web-server.ts).
 */
const techniques = [
  { name: "sqlite", port: portBase, technique: "sqlite", data: "sqlite" },
  { name: "memory", port: portBase + 1, technique: "memory", data: "sqlite" },
  { name: "cookie", port: portBase + 2, technique: "cookie", data: "sqlite" },
  { name: "redis", port: portBase + 3, technique: "redis", data: "sqlite" },
  { name: "postgres", port: portBase + 4, technique: "postgres", data: "sqlite" },
  { name: "postgres-data", port: portBase + 5, technique: "sqlite", data: "postgres" },
] as const;
/**
 * The page checks (html-validate + axe at two widths, e2e/a11y.spec.ts) render the same templates on
 * every technique; what differs is the X-ray panel and the dashboard, which come in two shapes: a
 * server-side store (sqlite, memory and redis draw it alike) and no store at all (cookie). So they run
 * in the sqlite and cookie projects; running them in all four cost about a third of the suite's time.
 */
const isolatedSpecs = /(labs-isolated|isolated)\//;
const pageChecks = /a11y\.spec\.ts$/;
const chromium = "/usr/bin/chromium";
const browserUse = {
  ...devices["Desktop Chrome"],
  launchOptions: {
    executablePath: fs.existsSync(chromium) ? chromium : undefined,
    args: ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  },
};

export default defineConfig({
  testDir: "e2e",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 5_000 },
  use: {
    screenshot: "only-on-failure",
    trace: "off",
    video: "off",
  },
  projects: techniques.map((t) => ({
    name: t.name,
    metadata: { technique: t.technique, data: t.data, dir: t.name },
    testIgnore: t.name === "sqlite" ? undefined : t.name === "cookie" ? isolatedSpecs : [isolatedSpecs, pageChecks],
    use: { ...browserUse, baseURL: `http://127.0.0.1:${t.port}` },
  })),
  webServer: techniques.map((t) => {
    fs.mkdirSync(path.join(process.env.E2E_DB_DIR!, t.name), { recursive: true });
    return {
      // The redis and postgres projects' servers bring their own database server (e2e/*-web-server.ts).
      command: t.name === "redis" || t.name === "postgres" || t.name === "postgres-data" ? `node e2e/${t.name}-web-server.ts` : "node src/server.ts",
      url: `http://127.0.0.1:${t.port}/`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      env: {
        PORT: String(t.port),
        HOST: "127.0.0.1",
        DATABASE_PATH: path.join(process.env.E2E_DB_DIR!, t.name, "shop.sqlite"),
        SESSION_STORE: t.technique,
        SESSION_SECRETS: "e2e-only-secret-not-for-production-0123456789",
        LOG_LEVEL: "warn",
        SESSION_IDLE_SECONDS: "1800",
        SESSION_ABSOLUTE_SECONDS: "604800",
        SESSION_CLEANUP_SECONDS: "60",
        INSTRUCTOR_PASSWORD: "e2e-instructor-password",
        // Every browser of the suite is one address: a test run is not a classroom (the limit has its own tests).
        NEW_SESSIONS_PER_CLIENT: "100000",
      },
    };
  }),
});
