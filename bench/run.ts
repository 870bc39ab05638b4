/**
 * npm run bench — our session layer beside what a Node developer would otherwise pick, in one run.
 *
 * 1. Tiny routes (bench/stack-server.ts), one process per stack: `browse` (EJS page of 24 products
 *    with the cart count: a session read) and `add` (one more item: a session write). Every load
 *    connection holds its own session, made before measuring. autocannon runs here, in this process,
 *    never in a server's. Stacks are interleaved (A B C … A B C …) over several rounds and the
 *    median round is reported, because a shared machine is noisy.
 * 2. The full shop (bench/app-server.ts): catalog, product, cart pages and add-to-cart, with the
 *    SQLite sessions vs with sessions switched off.
 * 3. Memory (bench/memory.ts): resident memory for 100,000 sessions in the memory technique, and the
 *    SQLite file's size per 100,000.
 * 4. Cleanup (bench/cleanup.ts, also run by CI): 1,000,000 expired rows swept under traffic.
 *
 * Prints tables; writes bench/results/bench.json and bench/results/bench.svg (the chart
 * docs/performance.md shows). Flags: --quick (short smoke run), --skip-cleanup, --profile
 * (CPU profile of our SQLite stack; top functions printed and saved).
 * Fails only when something is incorrect (errors, non-2xx answers), never on timing.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type autocannon from "autocannon";
import { startBenchServer, type BenchServer } from "./lib/servers.ts";
import { loadWithSessions, type Measure } from "./lib/autocannon.ts";
import { startRedisServer } from "../src/test/redis-server.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 1 : 4;
const CONNECTIONS = 8;
const run = promisify(execFile);

const STACKS = [
  ["none", "no session (the limit)"],
  ["ours-sqlite", "ours, SQLite store"],
  ["ours-memory", "ours, memory store"],
  ["ours-cookie", "ours, cookie (AES-256-GCM)"],
  ["ours-redis", "ours, Redis store (local redis-server)"],
  ["es-memory", "express-session + MemoryStore"],
  ["es-bs3", "express-session + better-sqlite3-session-store"],
  ["es-sqlite3", "express-session + connect-sqlite3"],
  ["cookie-session", "cookie-session"],
] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medianOf = (ms: Measure[]): Measure => ({
  rps: median(ms.map((m) => m.rps)),
  p50: median(ms.map((m) => m.p50)),
  p99: median(ms.map((m) => m.p99)),
  bad: ms.reduce((n, m) => n + m.bad, 0),
});

const load = (url: string, requests: autocannon.Request[], perClient: Record<string, string>[], seconds = SECONDS) =>
  loadWithSessions(url, requests, perClient, seconds, CONNECTIONS);

const cookieHeaderOf = (setCookies: string[]) => setCookies.map((c) => c.split(";")[0]).join("; ");

/** One session per connection, made before measuring: POST /add once and keep its cookies. */
async function sessionsFor(server: BenchServer): Promise<Record<string, string>[]> {
  const clients: Record<string, string>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const res = await fetch(`${server.url}/add`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "productId=2" });
    if (res.status !== 204) throw new Error(`${server.name}: creating a session answered ${res.status}`);
    clients.push(server.name === "none" ? {} : { cookie: cookieHeaderOf(res.headers.getSetCookie()) });
  }
  return clients;
}

const form = { "content-type": "application/x-www-form-urlencoded" };
const routes: Record<string, autocannon.Request[]> = {
  browse: [{ method: "GET", path: "/browse" }],
  add: [{ method: "POST", path: "/add", headers: form, body: "productId=5" }],
};

console.log(
  `npm run bench${quick ? " --quick" : ""}: ${os.availableParallelism()} cores, Node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per stack and route`,
);

// ---- 1. Tiny routes on every stack, interleaved ----
const redis = await startRedisServer();
const servers: BenchServer[] = [];
for (const [name] of STACKS) servers.push(await startBenchServer(root, "bench/stack-server.ts", name, [], { REDIS_URL: redis.url }));
const clients = new Map<string, Record<string, string>[]>();
for (const server of servers) clients.set(server.name, await sessionsFor(server));
// A short warm-up per stack (JIT, page cache), not measured.
for (const server of servers) for (const r of Object.values(routes)) await load(server.url, r, clients.get(server.name)!, 1);

const samples = new Map<string, Measure[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const route of Object.keys(routes)) {
    for (const server of servers) {
      const m = await load(server.url, routes[route]!, clients.get(server.name)!);
      const key = `${server.name}/${route}`;
      samples.set(key, [...(samples.get(key) ?? []), m]);
    }
  }
  process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
}

// Correctness: every stack must have kept its carts (the limit has none).
for (const server of servers.filter((s) => s.name !== "none")) {
  const cookie = clients.get(server.name)![0]!.cookie!;
  const html = await (await fetch(`${server.url}/browse`, { headers: { cookie } })).text();
  if (!/Cart \([1-9]\d*\)/.test(html)) throw new Error(`${server.name}: the cart count is missing after the run`);
}

// ---- optional: where does the time go in our SQLite stack ----
let profile: { function: string; selfMs: number; share: number }[] | null = null;
if (args.has("--profile")) {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-prof-"));
  const profiled = await startBenchServer(root, "bench/stack-server.ts", "ours-sqlite", ["--cpu-prof", `--cpu-prof-dir=${profDir}`]);
  const c = await sessionsFor(profiled);
  await load(profiled.url, routes.browse!, c, 5);
  await load(profiled.url, routes.add!, c, 5);
  await profiled.stop();
  const file = fs.readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"))!;
  const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), "utf8")) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(src|bench)\//, "$1/")}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  profile = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([fn, us]) => ({ function: fn, selfMs: Math.round(us / 1000), share: Math.round((us / total) * 1000) / 10 }));
  fs.rmSync(profDir, { recursive: true, force: true });
}
for (const server of servers) await server.stop();
await redis.close();

const limit = { browse: medianOf(samples.get("none/browse")!), add: medianOf(samples.get("none/add")!) };
const stacks = STACKS.map(([name, label]) => {
  const browse = medianOf(samples.get(`${name}/browse`)!);
  const add = medianOf(samples.get(`${name}/add`)!);
  return {
    name,
    label,
    browse: {
      ...browse,
      ratio: Math.round((browse.rps / limit.browse.rps) * 100) / 100,
      p99VsLimit: Math.round((browse.p99 / Math.max(1, limit.browse.p99)) * 100) / 100,
    },
    add: { ...add, ratio: Math.round((add.rps / limit.add.rps) * 100) / 100, p99VsLimit: Math.round((add.p99 / Math.max(1, limit.add.p99)) * 100) / 100 },
  };
});
console.log("\nTiny routes (median of rounds; ratio = req/s ÷ the no-session limit's):");
console.table(
  Object.fromEntries(
    stacks.map((s) => [
      s.label,
      {
        "browse req/s": s.browse.rps,
        "browse ratio": s.browse.ratio,
        "browse p50/p99 ms": `${s.browse.p50}/${s.browse.p99}`,
        "add req/s": s.add.rps,
        "add ratio": s.add.ratio,
        "add p50/p99 ms": `${s.add.p50}/${s.add.p99}`,
      },
    ]),
  ),
);

// ---- 2. The full shop, with and without sessions ----
const apps = [await startBenchServer(root, "bench/app-server.ts", "app-on"), await startBenchServer(root, "bench/app-server.ts", "app-off")];
const appClients = new Map<string, Record<string, string>[]>();
for (const app of apps) {
  const list: Record<string, string>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    let cookie = "";
    if (app.name === "app-on") {
      const add = await fetch(`${app.url}/cart/items`, { method: "POST", redirect: "manual", headers: form, body: "productId=2&quantity=1&returnTo=%2Fcart" });
      cookie = cookieHeaderOf(add.headers.getSetCookie().filter((c) => c.startsWith("shop_sid=")));
    }
    const page = await (await fetch(`${app.url}/cart`, { headers: { cookie } })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!token) throw new Error(`${app.name}: no CSRF token on the cart page`);
    list.push({ cookie, "x-csrf-token": token });
  }
  appClients.set(app.name, list);
}
const pages: Record<string, autocannon.Request[]> = {
  "catalog page": [{ method: "GET", path: "/categories/kitchen" }],
  "product page": [{ method: "GET", path: "/products/ceramic-teapot" }],
  // Add, then remove again, so the cart stays the same size however long the run.
  "add to cart": [
    { method: "POST", path: "/cart/items", headers: form, body: "productId=3&quantity=1&returnTo=%2Fcart" },
    { method: "POST", path: "/cart/items/3/delete", headers: form, body: "" },
  ],
  "cart page": [{ method: "GET", path: "/cart" }],
};
for (const app of apps) for (const r of Object.values(pages)) await load(app.url, r, appClients.get(app.name)!, 1);
const appSamples = new Map<string, Measure[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [pageName, requests] of Object.entries(pages)) {
    for (const app of apps) {
      const key = `${app.name}/${pageName}`;
      appSamples.set(key, [...(appSamples.get(key) ?? []), await load(app.url, requests, appClients.get(app.name)!)]);
    }
  }
}
for (const app of apps) await app.stop();
const fullApp = Object.keys(pages).map((pageName) => {
  const on = medianOf(appSamples.get(`app-on/${pageName}`)!);
  const off = medianOf(appSamples.get(`app-off/${pageName}`)!);
  return { page: pageName, withSessions: on, sessionsOff: off, ratio: Math.round((on.rps / off.rps) * 100) / 100 };
});
console.log("\nThe full shop, SQLite sessions vs sessions switched off:");
console.table(
  Object.fromEntries(
    fullApp.map((p) => [
      p.page,
      {
        "req/s with sessions": p.withSessions.rps,
        "req/s without": p.sessionsOff.rps,
        ratio: p.ratio,
        "p99 ms with/without": `${p.withSessions.p99}/${p.sessionsOff.p99}`,
      },
    ]),
  ),
);

// ---- 3. Memory and disk per 100,000 sessions ----
const { stdout: memOut } = await run(process.execPath, ["--expose-gc", path.join(root, "bench/memory.ts"), "100000"], { cwd: root });
const memory = JSON.parse(memOut.trim().split("\n").pop()!) as { sessions: number; memoryTechniqueRssMb: number; sqliteFileMb: number };
console.log(`\n100,000 sessions: memory technique ≈ ${memory.memoryTechniqueRssMb} MB resident; SQLite file +${memory.sqliteFileMb} MB`);

// ---- 4. Cleanup under load (the CI bench, reused) ----
let cleanup: unknown = null;
if (!args.has("--skip-cleanup")) {
  console.log("\nCleanup of 1,000,000 expired rows under load (bench/cleanup.ts):");
  const env = quick ? { ...process.env, BENCH_CLEANUP_ROWS: "100000" } : process.env;
  const { stdout } = await run(process.execPath, [path.join(root, "bench/cleanup.ts")], { cwd: root, env, maxBuffer: 10e6 });
  process.stdout.write(stdout);
  cleanup = JSON.parse(fs.readFileSync(path.join(root, "bench/results/cleanup.json"), "utf8"));
}

// ---- Output ----
const ours = stacks.find((s) => s.name === "ours-sqlite")!;
const targets = {
  "browse ≥ 0.90 of the limit (ours, SQLite)": ours.browse.ratio >= 0.9,
  "add ≥ 0.75 of the limit (ours, SQLite)": ours.add.ratio >= 0.75,
  "p99 ≤ 1.5 × the limit's (browse and add)": ours.browse.p99VsLimit <= 1.5 && ours.add.p99VsLimit <= 1.5,
};
console.log("\nTargets:");
for (const [t, ok] of Object.entries(targets)) console.log(`  ${ok ? "met   " : "missed"}  ${t}`);
if (profile) {
  console.log("\nWhere the time goes (ours, SQLite; self time, top 15):");
  console.table(profile);
}

const results = {
  date: new Date().toISOString(),
  machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version },
  settings: { connections: CONNECTIONS, rounds: ROUNDS, secondsPerRun: SECONDS, quick },
  stacks,
  fullApp,
  memory,
  cleanup,
  targets,
  profile,
};
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
const name = quick ? "bench-quick" : "bench";
fs.writeFileSync(path.join(root, `bench/results/${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
fs.writeFileSync(path.join(root, `bench/results/${name}.svg`), chart(stacks));
console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`);

const bad = [...samples.values(), ...appSamples.values()].flat().reduce((n, m) => n + m.bad, 0);
if (bad > 0) {
  console.error(`bench: ${bad} failed requests (errors, timeouts or 4xx/5xx answers) — the figures above are not valid`);
  process.exit(1);
}

/** A horizontal bar chart of req/s per stack, browse and add side by side, with the ratio printed. */
function chart(rows: typeof stacks): string {
  const W = 760;
  const rowH = 46;
  const left = 330;
  const H = 60 + rows.length * rowH;
  const max = Math.max(...rows.flatMap((r) => [r.browse.rps, r.add.rps]));
  const x = (v: number) => ((W - left - 70) * v) / max;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bars = rows
    .map((r, i) => {
      const y = 40 + i * rowH;
      return `<text x="${left - 8}" y="${y + 18}" text-anchor="end" class="l">${esc(r.label)}</text>
<rect x="${left}" y="${y + 4}" width="${x(r.browse.rps).toFixed(1)}" height="16" class="b"/><text x="${(left + x(r.browse.rps) + 4).toFixed(1)}" y="${y + 17}" class="v">${r.browse.rps} (${r.browse.ratio})</text>
<rect x="${left}" y="${y + 22}" width="${x(r.add.rps).toFixed(1)}" height="16" class="a"/><text x="${(left + x(r.add.rps) + 4).toFixed(1)}" y="${y + 35}" class="v">${r.add.rps} (${r.add.ratio})</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="13">
<style>.l{fill:#1d2320}.v{fill:#4f5a55;font-size:12px}.b{fill:#1f6f5c}.a{fill:#b4451f}</style>
<rect width="${W}" height="${H}" fill="#fbfaf7"/>
<text x="12" y="22" font-weight="600" fill="#1d2320">Requests/s (ratio to no session), ${CONNECTIONS} connections, median of ${ROUNDS} interleaved rounds</text>
<rect x="${W - 200}" y="30" width="12" height="10" class="b"/><text x="${W - 184}" y="39" class="v">browse (read)</text>
<rect x="${W - 100}" y="30" width="12" height="10" class="a"/><text x="${W - 84}" y="39" class="v">add (write)</text>
${bars}
</svg>
`;
}
