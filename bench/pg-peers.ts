/**
 * The guard of `npm run bench`, for the PostgreSQL pair only and quicker: ours-postgres (this tree;
 * and, given another checkout, that tree's too) beside es-pg (express-session + connect-pg-simple),
 * on the tiny routes of bench/stack-server.ts, measured as run.ts measures them: each stack loaded
 * side by side with a limit twin of its own (a `none` process) for the same 2 s slice, fresh
 * sessions per slice, stacks rotated per slice, the cluster's processes' CPU counted with the stack.
 * Reports the median extra CPU per request over the limit (stack − twin, same slice), with its spread.
 *
 *   node bench/pg-peers.ts [other-checkout] [rounds=2] [slices=4]
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { startPostgresServer } from "../src/test/postgres-server.ts";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cpuMeter } from "./lib/cpu.ts";
import { type BenchServer, newSessions, startBenchServer } from "./lib/servers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [other = "", roundsArg = "2", slicesArg = "4"] = process.argv.slice(2);
const [rounds, slices] = [Number(roundsArg), Number(slicesArg)];
const SECONDS = 2;
const CONNECTIONS = 8;
const form = { "content-type": "application/x-www-form-urlencoded" };
const routes: Record<string, autocannon.Request[]> = {
  browse: [{ method: "GET", path: "/browse" }],
  add: [{ method: "POST", path: "/add", headers: form, body: "productId=5" }],
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};
const r0 = (x: number) => Math.round(x);

const postgres = await startPostgresServer();
/** CPU of `pids` from now on; a process that ends meanwhile counts what it used until then. */
const meter = (pids: number[]) => {
  const meters = pids.map((pid) => {
    let last = 0;
    try {
      const used = cpuMeter(pid);
      return () => {
        try {
          last = used();
        } catch {}
        return last;
      };
    } catch {
      return () => 0;
    }
  });
  return () => meters.reduce((n, used) => n + used(), 0);
};

type Stack = { label: string; tree: string; name: string; env: Record<string, string> };
const stacks: Stack[] = [
  { label: "ours-postgres (this tree)", tree: root, name: "ours-postgres", env: { DATABASE_URL: await postgres.database() } },
  ...(other
    ? [{ label: "ours-postgres (other tree)", tree: path.resolve(other), name: "ours-postgres", env: { DATABASE_URL: await postgres.database() } }]
    : []),
  { label: "es-pg", tree: root, name: "es-pg", env: { ES_PG_URL: await postgres.database() } },
];
const extra = new Map<string, number[]>();
try {
  for (let round = 0; round < rounds; round++) {
    const servers = new Map<Stack, { server: BenchServer; twin: BenchServer }>();
    for (const s of stacks) {
      servers.set(s, {
        server: await startBenchServer(s.tree, "bench/stack-server.ts", s.name, [], s.env),
        twin: await startBenchServer(root, "bench/stack-server.ts", "none"),
      });
    }
    for (const { server, twin } of servers.values()) {
      for (const r of Object.values(routes)) {
        await loadWithSessions(server.url, r, await newSessions(server.url, CONNECTIONS), 1, CONNECTIONS);
        await loadWithSessions(twin.url, r, await newSessions(twin.url, CONNECTIONS), 1, CONNECTIONS);
      }
    }
    for (let slice = 0; slice < slices; slice++) {
      for (const [route, requests] of Object.entries(routes)) {
        const order = stacks.map((_, i) => stacks[(i + round * slices + slice) % stacks.length]!);
        for (const s of order) {
          const { server, twin } = servers.get(s)!;
          const [a, b] = [await newSessions(server.url, CONNECTIONS), await newSessions(twin.url, CONNECTIONS)];
          const run = async (target: BenchServer, sessions: Record<string, string>[], pids: number[]) => {
            const used = meter(pids);
            const m = await loadWithSessions(target.url, requests, sessions, SECONDS, CONNECTIONS);
            if (m.bad > 0) throw new Error(`${target.name}: ${m.bad} bad responses`);
            return used() / m.responses;
          };
          const [stackUs, twinUs] = await Promise.all([run(server, a, [server.child.pid!, ...postgres.processes()]), run(twin, b, [twin.child.pid!])]);
          extra.set(`${s.label}/${route}`, [...(extra.get(`${s.label}/${route}`) ?? []), stackUs - twinUs]);
        }
      }
    }
    for (const { server, twin } of servers.values()) {
      await server.stop();
      await twin.stop();
    }
  }
} finally {
  await postgres.close();
}
console.log(
  `${rounds * slices} slices of ${SECONDS} s per stack and route, ${CONNECTIONS} connections; extra µs of CPU per request over the limit (shop + PostgreSQL)`,
);
for (const route of Object.keys(routes)) {
  for (const s of stacks) {
    const xs = extra.get(`${s.label}/${route}`)!;
    console.log(
      `${route}, ${s.label}: +${r0(quantile(xs, 0.5))} (quartiles ${r0(quantile(xs, 0.25))}…${r0(quantile(xs, 0.75))}, min ${r0(Math.min(...xs))}, max ${r0(Math.max(...xs))})`,
    );
  }
}
