/**
 * What one speed-up (src/session/technique.ts) saves in the full shop: bench/app-server.ts with
 * everything on, side by side with a twin that has that one speed-up off (BENCH_WITHOUT), loaded
 * for the same 2 s slices (paired, the order alternating), fresh processes per round, on the
 * routes a shopper uses. Server CPU from schedstat (lib/cpu.ts). Reports, per route, the median
 * of the per-slice differences (µs of CPU per request saved by the speed-up) with its quartiles
 * and min–max, so the spread of a shared, noisy machine shows.
 *
 *   node bench/speedups.ts <speed-up> [rounds=2] [slices=4]
 *   node bench/speedups.ts rememberedSeals
 *   node bench/speedups.ts redisOneScript     # the Redis technique, Redis behind a link with a delay
 *
 * redisOneScript runs both shops on the Redis technique, with redis-server started here behind
 * bench/lib/link-delay.ts (BENCH_LINK_DELAY_MS each way, 1 unless said; 0: no proxy): across
 * machines a round trip is what a shopper feels, so it also reports the median latency saved.
 *
 * A JSON line at the end; bench/results/speedups.json keeps the last run of each speed-up.
 */
import type autocannon from "autocannon";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cpuMeter } from "./lib/cpu.ts";
import { type BenchServer, cookieHeaderOf, startBenchServer } from "./lib/servers.ts";
import { writeDocTables } from "../scripts/doc-tables.ts";
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { startLinkDelay } from "./lib/link-delay.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [speedup, roundsArg, slicesArg] = process.argv.slice(2);
if (!speedup) throw new Error("usage: node bench/speedups.ts <speed-up> [rounds] [slices]");
const rounds = Number(roundsArg ?? 2);
const slices = Number(slicesArg ?? 4);
const CONNECTIONS = 4;
const SECONDS = 2;
const form = { "content-type": "application/x-www-form-urlencoded" };
const routes: Record<string, autocannon.Request[]> = {
  "cart page": [{ method: "GET", path: "/cart" }],
  "catalog page": [{ method: "GET", path: "/categories/kitchen" }],
  // Add, then remove again, so the cart stays the same size however long the run: two writes.
  "add to cart": [
    { method: "POST", path: "/cart/items", headers: form, body: "productId=3&quantity=1&returnTo=%2Fcart" },
    { method: "POST", path: "/cart/items/3/delete", headers: form, body: "" },
  ],
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Sessions of the full shop: one cart line each, and the CSRF token of its cart page. */
async function shoppers(url: string) {
  const list: Record<string, string>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const add = await fetch(`${url}/cart/items`, { method: "POST", redirect: "manual", headers: form, body: "productId=2&quantity=1&returnTo=%2Fcart" });
    const cookie = cookieHeaderOf(add.headers.getSetCookie().filter((c) => c.startsWith("shop_sid=")));
    const token = /name="_csrf" value="([^"]+)"/.exec(await (await fetch(`${url}/cart`, { headers: { cookie } })).text())?.[1];
    if (!token) throw new Error("no CSRF token on the cart page");
    list.push({ cookie, "x-csrf-token": token });
  }
  return list;
}

async function measure(server: BenchServer, requests: autocannon.Request[], clients: Record<string, string>[]) {
  const used = cpuMeter(server.child.pid!);
  const m = await loadWithSessions(server.url, requests, clients, SECONDS, CONNECTIONS);
  if (m.bad > 0) throw new Error(`${server.name}: ${m.bad} bad responses`);
  return { us: used() / m.responses, p50: m.p50 };
}

/** For redisOneScript: a redis-server of our own, behind a link with a delay. */
async function redisBehindALink() {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-redis-"));
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  const delayMs = Number(process.env.BENCH_LINK_DELAY_MS ?? 1);
  const link = delayMs > 0 ? await startLinkDelay(port, delayMs) : null;
  return {
    delayMs,
    env: { SESSION_STORE: "redis", REDIS_URL: `redis://127.0.0.1:${link?.port ?? port}` },
    async close() {
      await link?.close();
      redis.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
const redis = speedup === "redisOneScript" ? await redisBehindALink() : null;
const storeEnv = redis?.env ?? {};

const saved: Record<string, number[]> = {};
const onUs: Record<string, number[]> = {};
const savedMs: Record<string, number[]> = {};
for (let round = 0; round < rounds; round++) {
  const on = await startBenchServer(root, "bench/app-server.ts", "app-on", [], storeEnv);
  const off = await startBenchServer(root, "bench/app-server.ts", "app-on", [], { ...storeEnv, BENCH_WITHOUT: speedup });
  const clients = new Map([
    [on, await shoppers(on.url)],
    [off, await shoppers(off.url)],
  ]);
  for (const server of [on, off]) for (const r of Object.values(routes)) await loadWithSessions(server.url, r, clients.get(server)!, 1, CONNECTIONS); // warm-up
  for (let slice = 0; slice < slices; slice++) {
    for (const [name, requests] of Object.entries(routes)) {
      const [a, b] = slice % 2 === 0 ? [on, off] : [off, on];
      const [first, second] = await Promise.all([measure(a!, requests, clients.get(a!)!), measure(b!, requests, clients.get(b!)!)]);
      const [withIt, without] = a === on ? [first, second] : [second, first];
      saved[name] = [...(saved[name] ?? []), without.us - withIt.us];
      onUs[name] = [...(onUs[name] ?? []), withIt.us];
      savedMs[name] = [...(savedMs[name] ?? []), without.p50 - withIt.p50];
    }
  }
  await on.stop();
  await off.stop();
}
await redis?.close();

const result = Object.fromEntries(
  Object.entries(saved).map(([name, xs]) => [
    name,
    {
      savedUs: r1(quantile(xs, 0.5)),
      quartiles: [r1(quantile(xs, 0.25)), r1(quantile(xs, 0.75))],
      range: [r1(Math.min(...xs)), r1(Math.max(...xs))],
      withUs: r1(quantile(onUs[name]!, 0.5)),
      ...(redis ? { p50LatencySavedMs: r1(quantile(savedMs[name]!, 0.5)) } : {}),
    },
  ]),
);
console.log(
  `${speedup}: µs of server CPU per request saved (without − with), median of ${rounds * slices} paired ${SECONDS} s slices, ${CONNECTIONS} connections each`,
);
console.table(result);
const line = { speedup, date: new Date().toISOString(), slices: rounds * slices, ...(redis ? { linkDelayMsEachWay: redis.delayMs } : {}), routes: result };
console.log(JSON.stringify(line));
const file = path.join(root, "bench/results/speedups.json");
const all = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
fs.writeFileSync(file, `${JSON.stringify({ ...all, [speedup]: line }, null, 2)}\n`);
for (const doc of writeDocTables()) console.log(`rewrote the generated figures in ${doc}`);
