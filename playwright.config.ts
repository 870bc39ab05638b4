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
const databasePath = path.join(process.env.E2E_DB_DIR, "shop.sqlite");

const PORT = 3217;
const baseURL = `http://127.0.0.1:${PORT}`;
const chromium = "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? "list" : "list",
  timeout: 60_000,
  expect: { timeout: 5_000 },
  use: {
    baseURL,
    screenshot: "only-on-failure",
    trace: "off",
    video: "off",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: fs.existsSync(chromium) ? chromium : undefined,
          args: ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        },
      },
    },
  ],
  webServer: {
    command: "node --import tsx src/server.ts",
    url: `${baseURL}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      PORT: String(PORT),
      HOST: "127.0.0.1",
      DATABASE_PATH: databasePath,
      SESSION_SECRETS: "e2e-only-secret-not-for-production-0123456789",
      LOG_LEVEL: "warn",
      SESSION_IDLE_SECONDS: "1800",
      SESSION_ABSOLUTE_SECONDS: "604800",
      SESSION_CLEANUP_SECONDS: "60",
    },
  },
});
