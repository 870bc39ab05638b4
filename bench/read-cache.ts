/**
 * What the SQLite store's read cache (src/session/stores/record-cache.ts) saves per read, in a real
 * request: bench/stack-server.ts ours-sqlite against ours-sqlite-nocache, GET /browse with one
 * session per connection, interleaved 2 s slices (the order alternating), fresh processes per
 * round. Reports the median server CPU µs per request of each and of their difference per slice,
 * and the median ratio of their responses.
 *
 *   node bench/read-cache.ts [rounds=2] [slices=6]
 */
import type autocannon from "autocannon";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cpuMeter } from "./lib/cpu.ts";
import { newSessions, startBenchServer } from "./lib/servers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [rounds = 2, slices = 6] = process.argv.slice(2).map(Number);
const CONNECTIONS = 8;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};
const browse: autocannon.Request[] = [{ method: "GET", path: "/browse" }];
const per: Record<string, number[]> = { cache: [], "no cache": [], saved: [], ratio: [] };

for (let round = 0; round < rounds; round++) {
  const servers = {
    cache: await startBenchServer(root, "bench/stack-server.ts", "ours-sqlite"),
    "no cache": await startBenchServer(root, "bench/stack-server.ts", "ours-sqlite-nocache"),
  };
  const clients = new Map<string, Record<string, string>[]>();
  for (const [name, server] of Object.entries(servers)) {
    const list = await newSessions(server.url, CONNECTIONS);
    clients.set(name, list);
    await loadWithSessions(server.url, browse, list, 1, CONNECTIONS); // warm-up
  }
  for (let slice = 0; slice < slices; slice++) {
    const inSlice: Record<string, { us: number; responses: number }> = {};
    const order = slice % 2 === 0 ? (["cache", "no cache"] as const) : (["no cache", "cache"] as const);
    for (const name of order) {
      const server = servers[name];
      const used = cpuMeter(server.child.pid!);
      const m = await loadWithSessions(server.url, browse, clients.get(name)!, 2, CONNECTIONS);
      if (m.bad > 0) throw new Error(`${name}: ${m.bad} bad responses`);
      inSlice[name] = { us: used() / m.responses, responses: m.responses };
    }
    per.cache!.push(inSlice.cache!.us);
    per["no cache"]!.push(inSlice["no cache"]!.us);
    per.saved!.push(inSlice["no cache"]!.us - inSlice.cache!.us);
    per.ratio!.push(inSlice.cache!.responses / inSlice["no cache"]!.responses);
  }
  for (const server of Object.values(servers)) await server.stop();
}
const r = (x: number) => Math.round(x * 10) / 10;
console.log(`${rounds * slices} slices of 2 s, GET /browse, ${CONNECTIONS} connections`);
console.log(`server CPU µs/request, median: with the cache ${r(median(per.cache!))}, without ${r(median(per["no cache"]!))}`);
console.log(
  `saved per request, median of the per-slice differences: ${r(median(per.saved!))} µs (min ${r(Math.min(...per.saved!))}, max ${r(Math.max(...per.saved!))})`,
);
console.log(`responses with / without, median ratio: ${median(per.ratio!).toFixed(3)}`);
