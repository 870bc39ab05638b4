/**
 * The web server of the `postgres` Playwright project: a throwaway PostgreSQL cluster
 * (src/test/postgres-server.ts: initdb and the postmaster as the `postgres` user when run as root),
 * a fresh database on it, then the shop with SESSION_STORE=postgres pointing at it. Both stop
 * together when Playwright stops this process (SIGTERM/SIGINT).
 */
import { spawn } from "node:child_process";
import { startPostgresServer } from "../src/test/postgres-server.ts";

const postgres = await startPostgresServer();
const databaseUrl = await postgres.database();
const shop = spawn(process.execPath, ["src/server.ts"], { stdio: "inherit", env: { ...process.env, SESSION_STORE: "postgres", DATABASE_URL: databaseUrl } });
const stop = async () => {
  shop.kill("SIGTERM");
  await new Promise((r) => shop.once("exit", r));
  await postgres.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
shop.on("exit", async (code) => {
  await postgres.close();
  process.exit(code ?? 1);
});
