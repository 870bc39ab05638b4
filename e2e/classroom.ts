/**
 * Helpers for the lab specs: the X-ray switch, the instructor's sign-in, screenshots for the
 * lessons, and whole shop processes for labs that restart a server or change it for everyone
 * (demo clock, vulnerable modes) and so must not share the project's server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, type Page } from "@playwright/test";
import { freePort, stopProcess } from "../src/test/processes.ts";

export const INSTRUCTOR_PASSWORD = "e2e-instructor-password";

export const xray = (page: Page) => page.getByRole("complementary", { name: /Session X-ray/ });

/** Switch the X-ray on from the footer link (a POST form: works without JavaScript). */
export async function showXray(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Show the session X-ray" }).click();
  await expect(xray(page)).toBeVisible();
}

export async function instructorSignIn(page: Page, next = "/instructor"): Promise<void> {
  await page.goto(`/instructor/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Instructor password").fill(INSTRUCTOR_PASSWORD);
  await page.getByRole("button", { name: "Open the dashboard" }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/[/?]/g, "\\$&")}$`));
}

/** Screenshots for docs/teaching/: written only when TEACHING_SCREENSHOTS=1 (npm run docs:screenshots). */
export async function lessonShot(page: Page, name: string): Promise<void> {
  if (process.env.TEACHING_SCREENSHOTS !== "1") return;
  await page.screenshot({ path: path.join("docs/teaching/images", `${name}.png`), fullPage: true });
}

export interface ShopProcess {
  url: string;
  /** Its temp folder: the database file is shop.sqlite in here (lab 15 reads it as a thief would). */
  dir: string;
  /** Stop and start the same shop (same port, database and secrets): a server restart. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A whole shop in its own process, on its own port and database, with the classroom switched on.
 * The port is free when chosen, but another test's process may take it before this shop binds it
 * (parallel workers): so the shop is only taken as started when the answer comes from it (its own
 * X-Served-By name), and a start that finds the port taken tries another one.
 */
export async function startShop(env: Record<string, string> = {}): Promise<ShopProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-lab-"));
  let port = await freePort();
  const name = env.INSTANCE_NAME ?? `lab-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let child: ChildProcess | null = null;
  let log = "";

  const startOnce = async () => {
    log = "";
    const url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ["src/server.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_PATH: path.join(dir, "shop.sqlite"),
        SESSION_SECRETS: "e2e-lab-secret-not-for-production-0123456789",
        LOG_LEVEL: "warn",
        INSTRUCTOR_PASSWORD,
        INSTANCE_NAME: name,
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`${url}/`);
        if (res.ok && res.headers.get("x-served-by") === name) return;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`the shop exited during start-up:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the shop did not answer on ${url} within 20 s:\n${log}`);
  };
  const start = async (samePort: boolean) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce();
      } catch (error) {
        await stopProcess(child);
        if (samePort || attempt === 3 || !/EADDRINUSE/.test(log)) throw error;
        port = await freePort(); // taken meanwhile by another test's process: another port
      }
    }
  };

  const stop = () => stopProcess(child);

  await start(false);
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    dir,
    async restart() {
      await stop();
      await start(true);
    },
    async stop() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
