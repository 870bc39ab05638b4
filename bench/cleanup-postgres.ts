/**
 * npm run bench:cleanup:postgres — bench/cleanup.ts for the PostgreSQL technique: the cleanup job
 * against BENCH_CLEANUP_ROWS (default 1,000,000) expired sessions, with shoppers running.
 *
 * 1. A throwaway cluster (src/test/postgres-server.ts: fsync off, as in the tests: the figures are
 *    the sweep's effect on a shopper, not the disk's), the shop on it (SESSION_STORE=postgres), the
 *    expired rows seeded in one INSERT … SELECT with random sha256-like keys spread over the index.
 * 2. Baseline: the same load as bench/cleanup.ts (bench/lib/load.ts) for a few seconds, no cleanup.
 * 3. The load again, and the job's own sweep (sweepExpired, batches of ≈ 5 ms, a quarter of the
 *    time), by one sweeper or by BENCH_CLEANUP_SWEEPERS at once (several instances: SKIP LOCKED
 *    keeps them on disjoint rows); how long, rows/s, the shoppers' throughput and latency meanwhile.
 * Writes bench/results/cleanup-postgres-<rows>.json.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { systemClock } from "../src/clock.ts";
import { readConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { sweepExpired } from "../src/session/cleanup.ts";
import { connectPostgresStore } from "../src/session/postgres.ts";
import { createShop } from "../src/shop.ts";
import { startPostgresServer } from "../src/test/postgres-server.ts";
import { tempDir } from "../src/test/harness.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROWS = Number(process.env.BENCH_CLEANUP_ROWS ?? 1_000_000);
const SWEEPERS = Number(process.env.BENCH_CLEANUP_SWEEPERS ?? 1);
const CONNECTIONS = 8;
const BASELINE_SECONDS = 5;
const AFTER_SECONDS = 3;

const postgres = await startPostgresServer();
const databaseUrl = await postgres.database();
const dir = tempDir();
const config = readConfig(
  {
    DATABASE_PATH: path.join(dir, "shop.sqlite"),
    SESSION_STORE: "postgres",
    DATABASE_URL: databaseUrl,
    SESSION_SECRETS: "bench-secret-0123456789-0123456789-0123",
    LOG_LEVEL: "silent",
  },
  root,
);
const shop = await createShop(config, { clock: systemClock, log: createLogger("silent"), root, cleanup: "off" });
// The sweepers: each its own pool, as separate instances would be.
const sweepers = await Promise.all(Array.from({ length: SWEEPERS }, () => connectPostgresStore(config, root)));
const sql = sweepers[0]!.runner;

console.log(`seeding ${ROWS.toLocaleString("en-US")} expired sessions…`);
const seedStart = performance.now();
const past = Date.now() - 3_600_000;
for (let done = 0; done < ROWS; done += 200_000) {
  await createLongQuery(
    `INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent)
     SELECT md5(random()::text) || md5(random()::text), '{"sealed":"v1.bench"}', NULL, $1::bigint - g, $1::bigint - g, $1::bigint - g + 1, NULL
     FROM generate_series($2::int, $3::int) g`,
    [past, done, Math.min(ROWS, done + 200_000) - 1],
  );
}
await createLongQuery("VACUUM ANALYZE sessions", []);
const seedSeconds = (performance.now() - seedStart) / 1000;
const tableMb = Number((await sql.query<{ mb: string }>("SELECT pg_total_relation_size('sessions') / 1e6 AS mb"))[0]!.mb);

/** Seeding statements run longer than a request's deadline: on a client of their own. */
async function createLongQuery(text: string, params: unknown[]) {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(text, params);
  await client.end();
}

const server = shop.app.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

type Loaded = { started: number; total: number; failures: number; rps: number; p50: number; p99: number; max: number; buckets: number[]; samples: number[] };
const load = (seconds: number) => {
  const running = promisify(execFile)(process.execPath, [path.join(root, "bench/lib/load.ts"), url, String(seconds), String(CONNECTIONS)], {
    cwd: root,
    maxBuffer: 512 * 1024 * 1024,
  });
  const result = running.then(({ stdout }) => JSON.parse(stdout.trim().split("\n").pop()!) as Loaded);
  return { result, stop: () => running.child.kill("SIGINT") };
};
const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;

const h0 = monitorEventLoopDelay({ resolution: 1 });
h0.enable();
const baseline = await load(BASELINE_SECONDS).result;
h0.disable();

const h1 = monitorEventLoopDelay({ resolution: 1 });
const during = load(1800);
await sleep(1500);
h1.enable();
const sweepStarted = Date.now();
const results = await Promise.all(sweepers.map((store) => sweepExpired(store, Date.now(), { maxShare: 0.25 })));
const sweepEnded = Date.now();
h1.disable();
await sleep(AFTER_SECONDS * 1000);
during.stop();
const loaded = await during.result;
const left = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM sessions WHERE expires_at <= $1", [Date.now()]))[0]!.n);

const first = Math.max(0, Math.floor((sweepStarted - loaded.started) / 100));
const last = Math.floor((sweepEnded - loaded.started) / 100);
const window = loaded.buckets.slice(first, last + 1);
const rpsDuring = window.length ? Math.round(window.reduce((a, b) => a + b, 0) / (window.length / 10)) : 0;
const sweepLatencies: number[] = [];
for (let i = 0; i < loaded.samples.length; i += 2) {
  const at = loaded.started + loaded.samples[i]!;
  if (at >= sweepStarted && at <= sweepEnded) sweepLatencies.push(loaded.samples[i + 1]!);
}
sweepLatencies.sort((a, b) => a - b);
const pctDuring = (p: number) => sweepLatencies[Math.min(sweepLatencies.length - 1, Math.floor((p / 100) * sweepLatencies.length))] ?? 0;
const removed = results.reduce((a, r) => a + r.removed, 0);
const seconds = (sweepEnded - sweepStarted) / 1000;

const figures = {
  date: new Date().toISOString(),
  machine: { cores: (await import("node:os")).availableParallelism(), node: process.version },
  store: "postgres",
  rows: ROWS,
  sweepers: SWEEPERS,
  seedSeconds: Math.round(seedSeconds * 10) / 10,
  tableMbBefore: Math.round(tableMb),
  sweep: {
    removed,
    removedPerSweeper: results.map((r) => r.removed),
    batches: results.reduce((a, r) => a + r.batches, 0),
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(removed / seconds),
    slowestBatchMs: Math.round(Math.max(...results.map((r) => r.slowestBatchMs)) * 10) / 10,
    leftExpired: left,
  },
  eventLoopDelayMs: {
    baseline: { max: ms(h0.max), p99: ms(h0.percentile(99)) },
    duringCleanup: { max: ms(h1.max), p99: ms(h1.percentile(99)) },
  },
  throughput: { baselineRps: baseline.rps, duringCleanupRps: rpsDuring, ratioDuringToBaseline: Math.round((rpsDuring / baseline.rps) * 100) / 100 },
  latencyMs: {
    baseline: { p50: baseline.p50, p99: baseline.p99, max: baseline.max },
    duringSweep: { requests: sweepLatencies.length, p50: pctDuring(50), p99: pctDuring(99), max: pctDuring(100) },
  },
  failedRequests: baseline.failures + loaded.failures,
};

server.closeAllConnections();
server.close();
await shop.close();
for (const s of sweepers) await s.close();
await postgres.close();
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
const out = path.join(
  root,
  `bench/results/cleanup-postgres-${ROWS >= 1e6 ? `${ROWS / 1e6}m` : `${ROWS / 1e3}k`}${SWEEPERS > 1 ? `-${SWEEPERS}-sweepers` : ""}.json`,
);
fs.writeFileSync(out, `${JSON.stringify(figures, null, 2)}\n`);

console.table({
  "rows removed": removed,
  sweepers: SWEEPERS,
  "removed per sweeper": figures.sweep.removedPerSweeper.join(" + "),
  "sweep time (s)": figures.sweep.seconds,
  "rows/s": figures.sweep.rowsPerSecond,
  "slowest batch (ms)": figures.sweep.slowestBatchMs,
  "expired rows left": left,
  "req/s without cleanup": baseline.rps,
  "req/s during cleanup": rpsDuring,
  "during / without": figures.throughput.ratioDuringToBaseline,
  "request p50 / p99, baseline (ms)": `${baseline.p50} / ${baseline.p99}`,
  "request p50 / p99, during sweep (ms)": `${figures.latencyMs.duringSweep.p50} / ${figures.latencyMs.duringSweep.p99}`,
  "request max, during sweep (ms)": figures.latencyMs.duringSweep.max,
  "failed requests": figures.failedRequests,
});
const correct = left === 0 && figures.failedRequests === 0;
console.log(
  correct ? "cleanup bench (postgres): every expired row removed, no request failed" : "cleanup bench (postgres): FAILED (rows left or requests failed)",
);
process.exitCode = correct ? 0 : 1;
