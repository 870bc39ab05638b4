/**
 * npm run bench:flood — one client creating sessions as fast as it can: add-to-cart posts that
 * never keep the cookie, so each one starts a new session (issue 29, item 3).
 *
 * For each case the shop runs as `npm start` runs it (its own process), the flood lasts
 * FLOOD_SECONDS from 32 connections of one address, then we watch for a few seconds more. Printed:
 * answers by status, new sessions per second, rows stored, the WAL's size at the end of the flood
 * and after, and the server's RSS (the memory technique keeps every session in the process).
 * "limit off" is the shop as it was before (NEW_SESSIONS_PER_CLIENT=0); "default" is as shipped.
 *
 *   node bench/flood.ts [--seconds 20] [--connections 32] [--only sqlite]
 * Writes bench/results/flood.json.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { freshDatabase, SECRET_A, startServerProcess } from "../src/test/harness.ts";
import { freePort } from "../src/test/processes.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const FLOOD_SECONDS = Number(arg("seconds") ?? 20);
const AFTER_SECONDS = 8;
const CONNECTIONS = Number(arg("connections") ?? 32);
/** --only sqlite: the cases whose name contains it. */
const ONLY = arg("only") ?? "";

const cases: { name: string; env: Record<string, string> }[] = [
  { name: "sqlite, limit off (before)", env: { SESSION_STORE: "sqlite", NEW_SESSIONS_PER_CLIENT: "0" } },
  { name: "sqlite, default limit", env: { SESSION_STORE: "sqlite" } },
  { name: "memory, limit off, bound 20,000", env: { SESSION_STORE: "memory", NEW_SESSIONS_PER_CLIENT: "0" } },
  { name: "memory, default limit and bound", env: { SESSION_STORE: "memory" } },
];

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

async function flood(url: string, until: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const statuses: Record<string, number> = {};
  const body = "productId=1&quantity=1";
  const post = () =>
    new Promise<number>((resolve) => {
      const req = http.request(
        `${url}/cart/items`,
        { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", () => resolve(0));
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const status = await post(); // the Set-Cookie is thrown away: the next post starts another session
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return statuses;
}

const results = [];
for (const c of cases.filter((x) => x.name.includes(ONLY))) {
  const { db, file, dir } = freshDatabase();
  db.close();
  const port = await freePort();
  const server = startServerProcess({ DATABASE_PATH: file, SESSION_SECRETS: SECRET_A, LOG_LEVEL: "warn", PORT: String(port), ...c.env });
  const url = `http://127.0.0.1:${port}`;
  while (
    !(await fetch(url).then(
      () => true,
      () => false,
    ))
  )
    await sleep(100);
  const pid = server.child.pid!;
  const rssBefore = rssOf(pid);
  const wal = () => fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;

  const statuses = await flood(url, Date.now() + FLOOD_SECONDS * 1000);
  const atEnd = { walMb: mb(wal()), rssMb: mb(rssOf(pid)) };
  const walAfter: number[] = [];
  for (let s = 1; s <= AFTER_SECONDS; s++) {
    await sleep(1000);
    walAfter.push(mb(wal()));
  }
  const rows =
    c.env.SESSION_STORE === "sqlite" ? (new Database(file, { readonly: true }).prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n : null;
  const created = statuses[303] ?? 0;
  results.push({
    case: c.name,
    statuses,
    newSessionsPerSecond: Math.round(created / FLOOD_SECONDS),
    rows,
    walMbAtEnd: atEnd.walMb,
    walMbEachSecondAfter: walAfter,
    rssMb: { before: mb(rssBefore), atEnd: atEnd.rssMb },
  });
  server.child.kill("SIGTERM");
  await server.exited;
  fs.rmSync(dir, { recursive: true, force: true });
}

console.log(`\nflood: ${CONNECTIONS} connections from one address, ${FLOOD_SECONDS} s, add-to-cart without keeping the cookie`);
for (const r of results) {
  console.log(
    `${r.case}: answers ${JSON.stringify(r.statuses)}; ${r.newSessionsPerSecond} new sessions/s; rows ${r.rows ?? "—"}; ` +
      `WAL ${r.walMbAtEnd} MB at the end, then ${r.walMbEachSecondAfter.join(", ")} MB; RSS ${r.rssMb.before} → ${r.rssMb.atEnd} MB`,
  );
}
fs.writeFileSync(
  path.join(root, "bench/results/flood.json"),
  `${JSON.stringify({ at: new Date().toISOString(), seconds: FLOOD_SECONDS, connections: CONNECTIONS, results }, null, 2)}\n`,
);
