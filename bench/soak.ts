/**
 * Memory under long, ordinary traffic (issue 29, item 2): the real shop on a temporary database,
 * driven from this process by many distinct shoppers, its resident memory sampled as it goes.
 *
 *   npm run bench:soak -- [--minutes 10] [--shoppers 20000] [--rate 300] [--store sqlite|memory]
 *                         [--signins 0.02] [--sample 15] [--idle 30] [--snapshot-at 8,9.5]
 *                         [--env NAME=value …] [--node-arg --flag …] [--no-start-flags] [--json file]
 *
 * Shoppers arrive evenly over the run (20,000 in 10 minutes: 33 new ones a second); each visit is
 * nine requests one after another (home, a product, add to cart, another product, add, the cart, a
 * category, a product, the cart), and `--signins` of them also create an account on the way (a
 * scrypt hash each). Once every shopper has arrived, returning ones come back with their cookie. The
 * requests are paced to `--rate` per second whatever the server's speed (open loop), at most 256 in
 * flight. Every response must be a 2xx or 3xx; the run says how many were not.
 *
 * Every `--sample` seconds: the server's VmRSS from /proc/<pid>/status, and its process.memoryUsage()
 * from bench/lib/memory-probe.ts (loaded with --import: the shop itself has no such line). After the
 * traffic stops, `--idle` seconds of nothing, and a last sample. Printed: the curve, then the figures
 * the issue asks for: RSS at minute 2, at the end, their ratio, and after the idle time.
 * `--snapshot-at` (minutes) writes a heap snapshot of the server at those times (SIGUSR2) into the
 * printed directory, for finding what holds the memory (Chrome DevTools → Memory → Load).
 * The server gets the node flags of `npm start` (package.json; `--no-start-flags` leaves them out)
 * and any `--node-arg`. Linux only (/proc). Minutes of one core: not part of `npm test`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMeter } from "./lib/cpu.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const number = (name: string, fallback: number) => Number(option(name) ?? fallback);
const all = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]!] : []));

const MINUTES = number("--minutes", 10);
const SHOPPERS = number("--shoppers", 20_000);
const RATE = number("--rate", 300);
const STORE = option("--store") ?? "sqlite";
const SIGNINS = number("--signins", 0.02);
const SAMPLE_S = number("--sample", 15);
const IDLE_S = number("--idle", 30);
const SNAPSHOTS_AT_MIN = (option("--snapshot-at") ?? "").split(",").filter(Boolean).map(Number);
const JSON_OUT = option("--json");
const MAX_IN_FLIGHT = 256;
const durationMs = MINUTES * 60_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "soak-"));
const extraEnv = Object.fromEntries(all("--env").map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
// The flags `npm start` gives node (package.json), so the soak measures the shop as it is started.
const startScript = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
const startArgs = startScript.split(" ").filter((word) => word.startsWith("--"));
const nodeArgs = [
  ...(argv.includes("--no-start-flags") ? [] : startArgs),
  ...all("--node-arg"),
  "--import",
  "./bench/lib/memory-probe.ts",
  ...(SNAPSHOTS_AT_MIN.length ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`] : []),
];
const child = spawn(process.execPath, [...nodeArgs, "src/server.ts"], {
  cwd: root,
  env: {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_PATH: path.join(dir, "shop.sqlite"),
    SESSION_STORE: STORE,
    SESSION_SECRETS: "soak-bench-secret-0123456789abcdef-0123",
    LOG_LEVEL: "info",
    MEMORY_PROBE_MS: String(Math.min(5000, SAMPLE_S * 1000)),
    // The shoppers are thousands of people, but they all arrive from 127.0.0.1: the per-address limit
    // on new sessions (600 per 10 minutes) would refuse all but the first 600 with a 429.
    NEW_SESSIONS_PER_CLIENT: "0",
    ...extraEnv,
  },
  stdio: ["ignore", "pipe", "pipe"],
});

let probe: { [figure: string]: number | undefined } & { spaces?: Record<string, number> } = {};
let stderrTail = "";
child.stderr.setEncoding("utf8");
child.stderr.on("data", (chunk: string) => {
  for (const line of chunk.split("\n")) {
    if (line.startsWith("memory-probe ")) probe = JSON.parse(line.slice("memory-probe ".length)) as typeof probe;
    else if (line.trim()) stderrTail = `${stderrTail}${line}\n`.slice(-4000);
  }
});
let out = "";
const base = await new Promise<string>((resolve, reject) => {
  child.stdout.setEncoding("utf8");
  const listen = (chunk: string) => {
    out += chunk;
    const m = /"port":(\d+)/.exec(out);
    if (m) {
      child.stdout.off("data", listen);
      child.stdout.resume(); // the request log: read and dropped
      resolve(`http://127.0.0.1:${m[1]}`);
    }
  };
  child.stdout.on("data", listen);
  child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening:\n${out}\n${stderrTail}`)));
});

/** VmRSS and its anonymous part (the heap, Buffers, malloc) from /proc; the rest is mostly the node binary's mapped pages. */
const residentBytes = () => {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), anon: kB("RssAnon") };
};

// ---- the shoppers -----------------------------------------------------------------------------

interface Shopper {
  index: number;
  cookies: Map<string, string>;
  csrf: string;
  member: boolean;
  visits: number;
  /** On a visit now: not picked for another one, so no shopper races itself (two tabs is another test). */
  busy: boolean;
}
const statuses = new Map<number | string, number>();
const failures = new Map<string, number>(); // "POST /register 503" → how many
let requests = 0;

async function request(shopper: Shopper, method: "GET" | "POST", url: string, form?: Record<string, string>): Promise<string> {
  const headers: Record<string, string> = { "accept-encoding": "gzip, br", "user-agent": `soak-shopper/${shopper.index % 50}` };
  if (shopper.cookies.size) headers.cookie = [...shopper.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  let body: string | undefined;
  if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    headers.origin = base;
    headers["sec-fetch-site"] = "same-origin";
    body = new URLSearchParams({ _csrf: shopper.csrf, ...form }).toString();
  }
  requests++;
  let status: number | string;
  let text = "";
  try {
    const res = await fetch(base + url, { method, headers, body, redirect: "manual" });
    status = res.status;
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) shopper.cookies.delete(pair.slice(0, eq));
      else shopper.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    text = await res.text();
    shopper.csrf = /name="_csrf" value="([^"]*)"/.exec(text)?.[1] ?? shopper.csrf;
  } catch (error) {
    status = (error as Error).message;
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (typeof status !== "number" || status >= 400) {
    const where = `${method} ${url.replace(/\/(products|categories)\/[\w-]+/, "/$1/…")} ${status}`;
    failures.set(where, (failures.get(where) ?? 0) + 1);
  }
  return text;
}

// The catalog, read once from the shop's own pages.
const crawler: Shopper = { index: -1, cookies: new Map(), csrf: "", member: false, visits: 0, busy: false };
const home = await request(crawler, "GET", "/");
const slugs = [...new Set([...home.matchAll(/href="\/products\/([\w-]+)"/g)].map((m) => m[1]!))];
const categories = [...new Set([...home.matchAll(/href="\/categories\/([\w-]+)"/g)].map((m) => m[1]!))];
const products: { slug: string; id: string }[] = [];
for (const slug of slugs) {
  const page = await request(crawler, "GET", `/products/${slug}`);
  const id = /name="productId" value="(\d+)"/.exec(page)?.[1];
  if (id) products.push({ slug, id });
}
if (products.length === 0 || categories.length === 0) throw new Error("found no products or categories on the home page");
const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;

type Step = (s: Shopper) => Promise<unknown>;
const browse: Step = (s) => request(s, "GET", `/products/${pick(products).slug}`);
const add: Step = (s) => request(s, "POST", "/cart/items", { productId: pick(products).id, quantity: "1" });
const cart: Step = (s) => request(s, "GET", "/cart");
const category: Step = (s) => request(s, "GET", `/categories/${pick(categories)}`);
const registerPage: Step = (s) => request(s, "GET", "/register");
let registering = 0; // sign-ups in flight: each is a scrypt hash (128 MiB of working memory) or one waiting for its turn
const register: Step = async (s) => {
  registering++;
  try {
    return await request(s, "POST", "/register", { email: `soak-${s.index}@example.com`, password: "correct horse battery staple" });
  } finally {
    registering--;
  }
};

const firstVisit = (s: Shopper): Step[] => [
  (x) => request(x, "GET", "/"),
  browse,
  add,
  browse,
  add,
  cart,
  ...(s.member ? [registerPage, register] : [category, browse]),
  cart,
];
const returningVisit: Step[] = [cart, browse, add, cart];

interface Visit {
  shopper: Shopper;
  steps: Step[];
}
const shoppers: Shopper[] = [];
const ready: Visit[] = []; // visits waiting for their next request
let inFlight = 0;
let behind = 0; // requests the pacing could not start (MAX_IN_FLIGHT reached)

function nextVisit(elapsedMs: number): Visit {
  // Arrivals are spread over the run; before the next one is due, someone comes back.
  const due = Math.min(SHOPPERS, Math.ceil((SHOPPERS * elapsedMs) / durationMs));
  let shopper: Shopper | undefined;
  for (let tries = 0; shoppers.length > 0 && shoppers.length >= due && tries < 20 && shopper === undefined; tries++) {
    const candidate = pick(shoppers);
    if (!candidate.busy) shopper = candidate; // a handful are busy at a time, among thousands
  }
  if (shopper === undefined) {
    shopper = { index: shoppers.length, cookies: new Map(), csrf: "", member: Math.random() < SIGNINS, visits: 0, busy: false };
    shoppers.push(shopper);
  }
  shopper.busy = true;
  shopper.visits++;
  return { shopper, steps: shopper.visits === 1 ? firstVisit(shopper) : [...returningVisit] };
}

function launch(elapsedMs: number) {
  const visit = ready.shift() ?? nextVisit(elapsedMs);
  const step = visit.steps.shift()!;
  inFlight++;
  void step(visit.shopper).finally(() => {
    inFlight--;
    if (visit.steps.length > 0) ready.push(visit);
    else visit.shopper.busy = false;
  });
}

// ---- the run -----------------------------------------------------------------------------------

interface Sample {
  s: number;
  rssMB: number;
  /** The lowest and highest VmRSS read (every second) since the previous sample: the floor is what stays; a sign-up's scrypt lifts the peak for a second or two. */
  rssMinMB: number;
  rssMaxMB: number;
  anonMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  shoppers: number;
  requests: number;
  /** Sign-ups in flight when sampled: the scrypt hashes whose working memory may be in the RSS. */
  registering: number;
}
const MB = (bytes: number | undefined) => Math.round(((bytes ?? Number.NaN) / 1048576) * 10) / 10;
const samples: Sample[] = [];
const started = performance.now();
let window = { min: Number.POSITIVE_INFINITY, max: 0 };
const watch = () => {
  const { rss } = residentBytes();
  window = { min: Math.min(window.min, rss), max: Math.max(window.max, rss) };
};
const watcher = setInterval(watch, 1000);
const take = (s: number): Sample => {
  const resident = residentBytes();
  window = { min: Math.min(window.min, resident.rss), max: Math.max(window.max, resident.rss) };
  const sample = {
    s,
    rssMB: MB(resident.rss),
    rssMinMB: MB(window.min),
    rssMaxMB: MB(window.max),
    anonMB: MB(resident.anon),
    heapTotalMB: MB(probe.heapTotal),
    heapUsedMB: MB(probe.heapUsed),
    externalMB: MB(probe.external),
    arrayBuffersMB: MB(probe.arrayBuffers),
    shoppers: shoppers.length,
    requests,
    registering,
  };
  samples.push(sample);
  window = { min: Number.POSITIVE_INFINITY, max: 0 };
  console.log(
    `${String(sample.s).padStart(5)} s  RSS ${String(sample.rssMB).padStart(6)} MB (${String(sample.rssMinMB).padStart(6)}–${String(sample.rssMaxMB).padStart(6)}; anon ${String(sample.anonMB).padStart(6)})  heap ${String(sample.heapUsedMB).padStart(6)}/${String(sample.heapTotalMB).padStart(6)}  external ${String(sample.externalMB).padStart(6)}  arrayBuffers ${String(sample.arrayBuffersMB).padStart(6)}  shoppers ${String(sample.shoppers).padStart(6)}  requests ${sample.requests}  sign-ups in flight ${sample.registering}`,
  );
  return sample;
};

console.log(
  `soak: ${STORE}, ${SHOPPERS} shoppers over ${MINUTES} min at ${RATE} req/s, ${SIGNINS * 100}% create an account; server pid ${child.pid}, files in ${dir}`,
);
take(0);
// The server's CPU from here (after the catalog crawl) to the end of the traffic, every thread counted:
// compression and scrypt run on libuv's threads, not the main one.
const serverCpuUs = cpuMeter(child.pid!);
const requestsBefore = requests;
const snapshotsDue = [...SNAPSHOTS_AT_MIN].sort((a, b) => a - b);
await new Promise<void>((resolve) => {
  let launched = 0;
  let nextSampleMs = SAMPLE_S * 1000;
  const pace = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) {
      clearInterval(pace);
      resolve();
      return;
    }
    for (const due = Math.floor((RATE * elapsed) / 1000); launched < due; launched++) {
      if (inFlight >= MAX_IN_FLIGHT) behind++;
      else launch(elapsed);
    }
    if (elapsed >= nextSampleMs) {
      take(Math.round(nextSampleMs / 1000));
      nextSampleMs += SAMPLE_S * 1000;
    }
    if (snapshotsDue.length && elapsed >= snapshotsDue[0]! * 60_000) {
      snapshotsDue.shift();
      child.kill("SIGUSR2");
      console.log(`      heap snapshot requested at ${Math.round(elapsed / 1000)} s (written into ${dir})`);
    }
  }, 10);
});
const end = take(Math.round(durationMs / 1000));
while (inFlight > 0) await new Promise((r) => setTimeout(r, 50));
const cpuUsPerRequest = Math.round(serverCpuUs() / (requests - requestsBefore));
await new Promise((r) => setTimeout(r, IDLE_S * 1000));
const idle = take(Math.round(durationMs / 1000) + IDLE_S);
clearInterval(watcher);

// The figure at minute 2, or at a fifth of a shorter run.
const earlyS = MINUTES >= 4 ? 120 : Math.round((durationMs / 1000) * 0.2);
const early = samples.reduce((best, s) => (Math.abs(s.s - earlyS) < Math.abs(best.s - earlyS) ? s : best));
const errors = [...statuses].filter(([status]) => typeof status !== "number" || status >= 400).reduce((n, [, count]) => n + count, 0);
const summary = {
  node: process.version,
  store: STORE,
  minutes: MINUTES,
  shoppers: shoppers.length,
  returningVisits: shoppers.reduce((n, s) => n + s.visits - 1, 0),
  requests,
  reqPerS: Math.round(requests / (durationMs / 1000)),
  /** The server's CPU time (every thread) during the traffic, per request: the cost side of a memory setting. */
  cpuUsPerRequest,
  notStarted: behind,
  errors,
  statuses: Object.fromEntries(statuses),
  failures: Object.fromEntries(failures),
  env: extraEnv,
  nodeArgs: nodeArgs.filter((arg) => !arg.includes("memory-probe") && arg !== "--import"),
  startRssMB: samples[0]!.rssMB,
  earlyAtS: early.s,
  earlyRssMB: early.rssMB,
  endRssMB: end.rssMB,
  endOverEarly: Math.round((end.rssMB / early.rssMB) * 100) / 100,
  // The same from each window's lowest reading: what stays, without the sign-ups' transient scrypt memory.
  earlyFloorMB: early.rssMinMB,
  endFloorMB: end.rssMinMB,
  endFloorOverEarlyFloor: Math.round((end.rssMinMB / early.rssMinMB) * 100) / 100,
  peakRssMB: Math.max(...samples.map((x) => x.rssMaxMB)),
  idleS: IDLE_S,
  idleRssMB: idle.rssMB,
  idleArrayBuffersMB: idle.arrayBuffersMB,
  idleHeapUsedMB: idle.heapUsedMB,
  idleHeapSpacesMB: Object.fromEntries(Object.entries(probe.spaces ?? {}).map(([space, bytes]) => [space, MB(bytes)])),
  samples,
};
console.log(
  `\nRSS: start ${summary.startRssMB} MB → ${early.s} s ${summary.earlyRssMB} MB → end ${summary.endRssMB} MB (${summary.endOverEarly}× the ${early.s} s figure) → ${IDLE_S} s idle ${summary.idleRssMB} MB`,
);
console.log(
  `RSS floor (lowest reading of the ${SAMPLE_S} s before): ${early.s} s ${summary.earlyFloorMB} MB → end ${summary.endFloorMB} MB (${summary.endFloorOverEarlyFloor}×); peak ${summary.peakRssMB} MB`,
);
console.log(
  `${requests} requests (${summary.reqPerS}/s, ${cpuUsPerRequest} µs of server CPU each), ${shoppers.length} shoppers, ${errors} errors, ${behind} not started (server behind)`,
);
console.log(JSON.stringify({ ...summary, samples: undefined }));
if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(summary, null, 2)}\n`);

const exited = new Promise((r) => child.once("exit", r));
child.kill("SIGTERM");
await exited;
if (SNAPSHOTS_AT_MIN.length === 0) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`heap snapshots kept in ${dir}`);
if (errors > 0) process.exitCode = 1;
