/**
 * A CPU profile of our SQLite stack under load (npm run bench --profile runs this; it also runs on
 * its own): bench/stack-server.ts ours-sqlite with --cpu-prof, 5 s of browse then 5 s of add,
 * 8 connections with their own sessions. Prints the top functions by self time and the shares by
 * where the code lives (our session layer, express, node internals, SQLite, GC …); the last line
 * is the JSON that bench.json keeps.
 *
 *   node bench/profile.ts [stack]          a stack of bench/stack-server.ts (ours-sqlite unless given)
 *   node bench/profile.ts app-on|app-off   the full shop's cart page, with or without sessions (issue 16 #5)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cookieHeaderOf, newSessions, startBenchServer } from "./lib/servers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stack = process.argv[2] ?? "ours-sqlite";
const profDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-prof-"));
const app = stack.startsWith("app-");
const server = await startBenchServer(root, app ? "bench/app-server.ts" : "bench/stack-server.ts", stack, ["--cpu-prof", `--cpu-prof-dir=${profDir}`]);
const form = { "content-type": "application/x-www-form-urlencoded" };
// Only the session cookie, as bench/run.ts does: the shop's add also sets a flash cookie, which a
// browser sends once and loses, but autocannon would send on every request (a flash read and cleared each time).
const appSession = async () => {
  const res = await fetch(`${server.url}/cart/items`, { method: "POST", redirect: "manual", headers: form, body: "productId=2&quantity=1&returnTo=%2Fcart" });
  return { cookie: cookieHeaderOf(res.headers.getSetCookie().filter((c) => c.startsWith("shop_sid="))) };
};
const clients = app ? await Promise.all(Array.from({ length: 8 }, appSession)) : await newSessions(server.url, 8);
const [first, second] = app ? (["/cart", "/cart"] as const) : (["/browse", "/add"] as const);
const browse = await loadWithSessions(server.url, [{ method: "GET", path: first }], clients, 5, 8);
const add = app
  ? await loadWithSessions(server.url, [{ method: "GET", path: second }], clients, 5, 8)
  : await loadWithSessions(server.url, [{ method: "POST", path: second, headers: form, body: "productId=5" }], clients, 5, 8);
await server.stop();

const file = fs.readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"))!;
const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), "utf8")) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
};
fs.rmSync(profDir, { recursive: true, force: true });
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const areas = new Map<string, number>();
/** Where a frame's code lives, coarsely. */
const areaOf = (url: string, fn: string) => {
  if (!url) {
    if (fn === "(garbage collector)") return "GC";
    if (fn === "(idle)" || fn === "(program)") return fn;
    if (/^write|^writev$|^readv?$/.test(fn)) return "socket I/O (native)";
    if (fn === "(anonymous)") return "compiled EJS templates";
    return `native ${fn}`;
  }
  if (url.includes("/src/session/") || url.includes("/src/db/")) return "our session layer (src/session, src/db)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return `package ${pkg}`;
  if (url.startsWith("node:")) return "node internals";
  return "bench/other";
};
prof.samples.forEach((id, i) => {
  const f = byId.get(id)!.callFrame;
  const name = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(src|bench)\//, "$1/")}:${f.lineNumber + 1}`;
  const us = prof.timeDeltas[i] ?? 0;
  self.set(name, (self.get(name) ?? 0) + us);
  const area = areaOf(f.url, f.functionName);
  areas.set(area, (areas.get(area) ?? 0) + us);
});
const busy = [...areas.entries()].filter(([a]) => a !== "(idle)").reduce((n, [, us]) => n + us, 0);
const share = (us: number) => Math.round((us / busy) * 1000) / 10;
const top = [...self.entries()]
  .filter(([fn]) => !fn.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15)
  .map(([fn, us]) => ({ function: fn, selfMs: Math.round(us / 1000), share: share(us) }));
const byArea = [...areas.entries()]
  .filter(([a, us]) => a !== "(idle)" && share(us) >= 0.5)
  .sort((a, b) => b[1] - a[1])
  .map(([area, us]) => ({ area, ms: Math.round(us / 1000), share: share(us) }));
console.log(`\nWhere the time goes (${stack}; 5 s ${first} at ${browse.rps} req/s, then 5 s ${second} at ${add.rps} req/s; self time, idle excluded):`);
console.table(byArea);
console.table(top);
console.log(JSON.stringify({ stack, browseRps: browse.rps, addRps: add.rps, byArea, top }));
