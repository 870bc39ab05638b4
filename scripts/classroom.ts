/**
 * npm run classroom — the shops side by side, one per session technique, for a class:
 *
 *   http://localhost:3000  SQLite   http://localhost:3001  Memory   http://localhost:3002  Cookie
 *   http://localhost:3003  PostgreSQL, when it is there: DATABASE_URL if set, else a cluster of the
 *                          classroom's own (Debian's postgresql package; it lives as long as the
 *                          classroom, so restarting the shops keeps its sessions, as SQLite's file does)
 *   http://127.0.0.1:3010  lab 10's attacker site (another site than localhost), posting to the SQLite shop
 *
 * Without PostgreSQL the classroom runs the other three and says how to get the fifth technique.
 * They share one database file (catalog, accounts, orders), one cookie secret and one instructor
 * password, both kept in .classroom.json beside the database (db/ by default) so a restart keeps the SQLite and cookie sessions valid —
 * which is the point of lab 2. Vulnerable lab modes are allowed (still off until the instructor
 * switches one on). Keys: m = restart the memory shop, r = restart all the shops, q / Ctrl-C = stop.
 *
 * Options: --port 4000 (first port), or PORT=4000.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait-for.ts";
import { postgresInstalled, startPostgresServer } from "../src/test/postgres-server.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const portArg = process.argv.indexOf("--port");
const firstPort = Number(portArg > 0 ? process.argv[portArg + 1] : (process.env.PORT ?? 3000));
if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort > 65525) {
  console.error("--port must be a port number (the shops use it and the next three, lab 10's attacker site the port 10 above it)");
  process.exit(1);
}

const databasePath = path.resolve(root, process.env.DATABASE_PATH ?? "db/classroom.sqlite");
// Kept beside the database, so the secret outlives a restart exactly as long as the sessions table does.
const stateFile = path.join(path.dirname(databasePath), ".classroom.json");
fs.mkdirSync(path.dirname(databasePath), { recursive: true });
const state = fs.existsSync(stateFile)
  ? (JSON.parse(fs.readFileSync(stateFile, "utf8")) as { secret: string; instructorPassword: string })
  : { secret: randomBytes(32).toString("base64url"), instructorPassword: randomBytes(9).toString("base64url") };
fs.writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });

// Lab 10's attacker site runs beside the SQLite shop (the SameSite switches need a server-side technique).
const attackerPort = firstPort + 10;
// The fifth technique needs a PostgreSQL server: the one DATABASE_URL names, or a cluster of our own.
const postgres = process.env.DATABASE_URL || !postgresInstalled() ? null : await startPostgresServer();
const databaseUrl = process.env.DATABASE_URL ?? (postgres ? await postgres.database() : null);
const shops: { technique: string; label: string; port: number; attackerPort: number | null; env?: Record<string, string> }[] = [
  { technique: "sqlite", label: "SQLite", port: firstPort, attackerPort },
  { technique: "memory", label: "Memory", port: firstPort + 1, attackerPort: null },
  { technique: "cookie", label: "Cookie", port: firstPort + 2, attackerPort: null },
  ...(databaseUrl ? [{ technique: "postgres", label: "PostgreSQL", port: firstPort + 3, attackerPort: null, env: { DATABASE_URL: databaseUrl } }] : []),
];
const children = new Map<string, ChildProcess>();
let stopping = false;

async function start(shop: (typeof shops)[number]) {
  const child = spawn(process.execPath, [path.join(root, "src/server.ts")], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      PORT: String(shop.port),
      SESSION_STORE: shop.technique,
      SHOP_LABEL: `Classroom :${shop.port}`,
      INSTANCE_NAME: `${shop.technique}-${shop.port}`,
      DATABASE_PATH: databasePath,
      SESSION_SECRETS: state.secret,
      INSTRUCTOR_PASSWORD: process.env.INSTRUCTOR_PASSWORD ?? state.instructorPassword,
      CLASSROOM: "true",
      CLASSROOM_VULNERABLE_LABS: "1",
      ...(shop.attackerPort === null ? {} : { CLASSROOM_ATTACKER_PORT: String(shop.attackerPort) }),
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      ...shop.env,
    },
  });
  children.set(shop.technique, child);
  child.on("exit", (code) => {
    if (!stopping && children.get(shop.technique) === child) console.error(`${shop.label} shop stopped (exit ${code}); press r to restart all`);
  });
  await waitFor(`http://127.0.0.1:${shop.port}/`, { child });
}

async function stop(technique: string) {
  const child = children.get(technique);
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

// One after the other: the first one migrates and seeds the shared database file.
for (const shop of shops) await start(shop);
const postgresLine = databaseUrl
  ? `  PostgreSQL  http://localhost:${firstPort + 3}   (sessions in ${postgres ? "a PostgreSQL cluster of the classroom's own" : "DATABASE_URL's database"}, table "sessions")`
  : "  PostgreSQL  not started: install Debian's postgresql (apt-get install postgresql) or set DATABASE_URL=postgres://…, then start the classroom again";
console.log(`
Stateful Shop — classroom: ${shops.length === 4 ? "four" : "three"} techniques side by side

  SQLite      http://localhost:${firstPort}   (sessions in db/classroom.sqlite, table "sessions")
  Memory      http://localhost:${firstPort + 1}   (sessions in a Map in that process — lost on restart)
  Cookie      http://localhost:${firstPort + 2}   (the whole session in an encrypted cookie)
${postgresLine}

  Labs:        /labs on any of them        Session X-ray: link at the bottom of every page
  Lab 10:      the attacker's site is http://127.0.0.1:${attackerPort}/ (posts to the SQLite shop)
  Instructor:  /instructor   password: ${process.env.INSTRUCTOR_PASSWORD ? "(your INSTRUCTOR_PASSWORD)" : state.instructorPassword}
  Vulnerable lab modes are allowed here and OFF until you switch them on (labs 5, 6, 8, 10, 12).

  Keys: m = restart the memory shop (lab 2)   r = restart all the shops   q = quit
`);

async function shutdown() {
  if (stopping) return;
  stopping = true;
  await Promise.all(shops.map((s) => stop(s.technique)));
  await postgres?.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

if (process.stdin.isTTY) {
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on("data", async (key: Buffer) => {
    const k = key.toString();
    if (k === "q" || k === "\u0003") return void shutdown();
    const which = k === "m" ? shops.filter((s) => s.technique === "memory") : k === "r" ? shops : [];
    for (const shop of which) {
      await stop(shop.technique);
      await start(shop);
      console.log(`restarted the ${shop.label} shop on http://localhost:${shop.port}`);
    }
  });
}
