/**
 * The web server of the `postgres-data` Playwright project: a throwaway PostgreSQL cluster
 * (src/test/postgres-server.ts), a fresh database on it, then the shop with its own data there
 * (DATA_STORE=postgres) and the sessions in its local SQLite file (SESSION_STORE from the config).
 * The database's URL is written next to that file (database-url), for the specs that read the stock
 * (e2e/helpers.ts → stockOf). Both stop together when Playwright stops this process.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startPostgresServer } from "../src/test/postgres-server.ts";

const postgres = await startPostgresServer();
const databaseUrl = await postgres.database();
fs.writeFileSync(path.join(path.dirname(process.env.DATABASE_PATH!), "database-url"), databaseUrl);
const shop = spawn(process.execPath, ["src/server.ts"], { stdio: "inherit", env: { ...process.env, DATA_STORE: "postgres", DATABASE_URL: databaseUrl } });
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
