/**
 * npm run bench:overload — what a bystander sees when the shop is overloaded.
 *
 * The shop runs as `npm start` runs it (its own process, default SQLite technique, or
 * BENCH_TECHNIQUE=memory). A load process (bench/lib/load.ts) opens 256, 512 and 1,024
 * connections, each a shopper with its own session alternating the cart page and an add to cart,
 * as fast as answers come back. Meanwhile one bystander on its own connection opens a product
 * page, one request after the other, and we record how long each took and what it got back.
 *
 * Prints a table and writes bench/results/overload.json. Figures are from a 2-core machine shared
 * with other work: read them as orders of magnitude, not to the millisecond.
 *
 *   node bench/overload.ts [--seconds 10] [--levels 256,512,1024]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freshDatabase, SECRET_A, startServerProcess } from "../src/test/harness.ts";
import { freePort } from "../src/test/processes.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Number(arg("seconds") ?? 10);
const LEVELS = (arg("levels") ?? "256,512,1024").split(",").map(Number);
const TECHNIQUE = process.env.BENCH_TECHNIQUE ?? "sqlite";
const EXTRA_ENV = JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>;

const { db, file, dir } = freshDatabase();
db.close();
// Logs at warn (a line per request would be part of what we measure), so the port is ours to choose.
const port = await freePort();
// NEW_SESSIONS_PER_CLIENT=0: the load's 1,024 shoppers all come from one address (a flood, to the limit).
const server = startServerProcess({
  DATABASE_PATH: file,
  SESSION_SECRETS: SECRET_A,
  SESSION_STORE: TECHNIQUE,
  LOG_LEVEL: "warn",
  PORT: String(port),
  NEW_SESSIONS_PER_CLIENT: "0",
  MEMORY_MAX_SESSIONS: "100000",
  ...EXTRA_ENV,
});
const url = `http://127.0.0.1:${port}`;
for (
  let waited = 0;
  !(await fetch(url).then(
    () => true,
    () => false,
  ));
  waited += 100
) {
  if (waited > 30_000 || server.child.exitCode !== null) throw new Error(`the shop did not start:\n${server.output()}`);
  await sleep(100);
}

const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(pathname: string, agent: http.Agent | false = keptAlive): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url + pathname, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
  });
}

/**
 * The bystander's product pages until `until`: latencies (ms) and statuses. On its kept-alive
 * connection, or (`newConnection`) on a new connection each time, as a new visitor arrives.
 */
async function bystander(until: number, newConnection = false) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  while (Date.now() < until) {
    const t0 = performance.now();
    const status = await get("/products/ceramic-teapot", newConnection ? false : keptAlive);
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
  return { requests: latencies.length, p50: pct(50), p99: pct(99), max: pct(100), statuses };
}

type Seen = Awaited<ReturnType<typeof bystander>>;
type Row = { connections: number; bystander: Seen; newVisitor: Seen; load: { total: number; failures: number; rps: number; p50: number; p99: number } };
const rows: Row[] = [];

// Warm up (JIT, the page cache), then the bystander alone.
for (let i = 0; i < 200; i++) await get("/products/ceramic-teapot");
const [alone, aloneNew] = await Promise.all([bystander(Date.now() + 3_000), bystander(Date.now() + 3_000, true)]);
rows.push({ connections: 0, bystander: alone, newVisitor: aloneNew, load: { total: 0, failures: 0, rps: 0, p50: 0, p99: 0 } });

for (const connections of LEVELS) {
  const load = spawn(process.execPath, ["bench/lib/load.ts", url, String(SECONDS), String(connections)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  load.stdout.on("data", (d) => (out += d));
  const done = new Promise((r) => load.once("exit", r));
  // The load process first makes its shoppers' sessions; the measured window starts 3 s after it begins.
  // The bystander keeps asking meanwhile (not counted), so its kept-alive connection stays open: a
  // new connection in a flood waits in the kernel's accept queue, which is measured apart below.
  await bystander(Date.now() + 3_000);
  const until = Date.now() + (SECONDS - 3) * 1000;
  const [seen, newVisitor] = await Promise.all([bystander(until), bystander(until, true)]);
  await done;
  const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  rows.push({
    connections,
    bystander: seen,
    newVisitor,
    load: { total: result.total, failures: result.failures, rps: result.rps, p50: result.p50, p99: result.p99 },
  });
  await sleep(1_000);
}

server.child.kill("SIGTERM");
await server.exited;
fs.rmSync(dir, { recursive: true, force: true });

console.log(`\noverload, ${TECHNIQUE} technique${Object.keys(EXTRA_ENV).length ? ` ${JSON.stringify(EXTRA_ENV)}` : ""}, ${SECONDS} s per level`);
console.log("connections | bystander kept-alive p50 / p99 / max ms (answers) | new visitor, a new connection each time | load req/s, failures, p50 / p99 ms");
const show = (b: Seen) => `${b.p50} / ${b.p99} / ${b.max} (${JSON.stringify(b.statuses)})`;
for (const r of rows) {
  console.log(
    `${String(r.connections).padStart(11)} | ${show(r.bystander)} | ${show(r.newVisitor)} | ${r.load.rps}, ${r.load.failures}, ${r.load.p50} / ${r.load.p99}`,
  );
}
const results = path.join(root, "bench/results/overload.json");
const previous = fs.existsSync(results) ? (JSON.parse(fs.readFileSync(results, "utf8")) as object[]) : [];
previous.push({ at: new Date().toISOString(), technique: TECHNIQUE, env: EXTRA_ENV, seconds: SECONDS, rows });
fs.writeFileSync(results, `${JSON.stringify(previous, null, 2)}\n`);
