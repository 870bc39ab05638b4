/**
 * What one-script Redis writes save, in a real request: bench/stack-server.ts ours-redis from this
 * tree against the same stack from another checkout (the code before the change), both on one
 * redis-server started here, POST /add with one session per connection, interleaved 2 s slices (the
 * order alternating), fresh processes per round. Reports the median server CPU µs per request of
 * each (the shop process, and redis-server during that slice), req/s, and the per-slice differences.
 *
 *   node bench/redis-write.ts <other-checkout> [rounds=2] [slices=6]
 *
 * The other checkout needs node_modules (a symlink to this one's will do) and this tree's bench/ deps.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cpuMeter } from "./lib/cpu.ts";
import { newSessions, startBenchServer } from "./lib/servers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [other = "", roundsArg = "2", slicesArg = "6"] = process.argv.slice(2);
if (!other) throw new Error("usage: node bench/redis-write.ts <other-checkout> [rounds] [slices]");
const [rounds, slices] = [Number(roundsArg), Number(slicesArg)];
const CONNECTIONS = 8;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};
const add: autocannon.Request[] = [{ method: "POST", path: "/add", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "productId=2" }];

const port = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const p = (probe.address() as net.AddressInfo).port;
    probe.close(() => resolve(p));
  });
});
const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-redis-"));
const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", redisDir], {
  stdio: "ignore",
});
await new Promise((r) => setTimeout(r, 300));
const env = { REDIS_URL: `redis://127.0.0.1:${port}` };

const trees = { after: root, before: path.resolve(other) } as const;
type Name = keyof typeof trees;
const per = {
  us: { after: [] as number[], before: [] as number[] },
  redisUs: { after: [] as number[], before: [] as number[] },
  rps: { after: [] as number[], before: [] as number[] },
};
const saved: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const servers = {
      after: await startBenchServer(trees.after, "bench/stack-server.ts", "ours-redis", [], env),
      before: await startBenchServer(trees.before, "bench/stack-server.ts", "ours-redis", [], env),
    };
    const clients = new Map<Name, Record<string, string>[]>();
    for (const name of ["after", "before"] as const) {
      const list = await newSessions(servers[name].url, CONNECTIONS, 1);
      clients.set(name, list);
      await loadWithSessions(servers[name].url, add, list, 1, CONNECTIONS); // warm-up
    }
    for (let slice = 0; slice < slices; slice++) {
      const us = {} as Record<Name, number>;
      for (const name of slice % 2 === 0 ? (["after", "before"] as const) : (["before", "after"] as const)) {
        const server = servers[name];
        const [shopUsed, redisUsed] = [cpuMeter(server.child.pid!), cpuMeter(redis.pid!)];
        const m = await loadWithSessions(server.url, add, clients.get(name)!, 2, CONNECTIONS);
        if (m.bad > 0) throw new Error(`${name}: ${m.bad} bad responses`);
        us[name] = shopUsed() / m.responses;
        per.us[name].push(us[name]);
        per.redisUs[name].push(redisUsed() / m.responses);
        per.rps[name].push(m.rps);
      }
      saved.push(us.before - us.after);
    }
    for (const server of Object.values(servers)) await server.stop();
  }
} finally {
  redis.kill("SIGTERM");
  fs.rmSync(redisDir, { recursive: true, force: true });
}
const r = (x: number) => Math.round(x * 10) / 10;
const spread = (xs: number[]) => `median ${r(median(xs))} (min ${r(Math.min(...xs))}, max ${r(Math.max(...xs))})`;
console.log(`${rounds * slices} slices of 2 s each, POST /add, ${CONNECTIONS} connections, one session each`);
for (const name of ["before", "after"] as const) {
  console.log(`${name}: shop CPU µs/request ${spread(per.us[name])}; redis-server CPU µs/request ${spread(per.redisUs[name])}; req/s ${spread(per.rps[name])}`);
}
console.log(`shop CPU saved per request, per-slice differences: ${spread(saved)} µs`);
