/**
 * npm run bench:scale — the shop behind nginx with 1, 2 and 3 instances, sessions in Redis or in
 * the one SQLite file, on this machine: requests/s for a cart page (a session read) and for
 * add-then-remove (session writes), 8 connections, each with its own session, through the balancer.
 * Uses `npm run scale-demo` itself to start everything. Writes bench/results/scale.json.
 * Fails only on incorrect answers, never on timing.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { loadWithSessions } from "./lib/autocannon.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const SECONDS = quick ? 1 : 4;
const CONNECTIONS = 8;
const form = { "content-type": "application/x-www-form-urlencoded" };

async function withDemo<T>(technique: string, instances: number, work: (url: string) => Promise<T>): Promise<T> {
  const port = 18_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [path.join(root, "scripts/scale-demo.ts"), "--technique", technique, "--instances", String(instances), "--port", String(port)],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  for (let i = 0; i < 600 && !out.includes("Ctrl-C stops everything"); i++) {
    if (child.exitCode !== null) throw new Error(`scale-demo exited:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work(`http://127.0.0.1:${port}`);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

async function measure(url: string) {
  // One session per connection, made through the balancer (any instance may create it).
  const clients: Record<string, string>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const add = await fetch(`${url}/cart/items`, { method: "POST", redirect: "manual", headers: form, body: "productId=2&quantity=1&returnTo=%2Fcart" });
    const cookie = add.headers
      .getSetCookie()
      .filter((c) => c.startsWith("shop_sid="))
      .map((c) => c.split(";")[0])
      .join("; ");
    const page = await (await fetch(`${url}/cart`, { headers: { cookie } })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!token || !/Cart, 1 item/.test(page)) throw new Error("a session made through the balancer was not seen by the next instance");
    clients.push({ cookie, "x-csrf-token": token });
  }
  const run = async (requests: autocannon.Request[], seconds: number) => {
    const m = await loadWithSessions(url, requests, clients, seconds, CONNECTIONS);
    if (m.bad > 0) throw new Error(`${m.bad} failed requests through the balancer`);
    return { rps: m.rps, p50: m.p50, p99: m.p99 };
  };
  const read: autocannon.Request[] = [{ method: "GET", path: "/cart" }];
  const write: autocannon.Request[] = [
    { method: "POST", path: "/cart/items", headers: form, body: "productId=3&quantity=1&returnTo=%2Fcart" },
    { method: "POST", path: "/cart/items/3/delete", headers: form, body: "" },
  ];
  await run(read, 1); // warm-up
  return { read: await run(read, SECONDS), write: await run(write, SECONDS) };
}

const rows: { technique: string; instances: number; read: { rps: number; p50: number; p99: number }; write: { rps: number; p50: number; p99: number } }[] = [];
console.log(`bench:scale: ${os.availableParallelism()} cores; nginx round robin; ${CONNECTIONS} connections; ${SECONDS} s per measure`);
for (const technique of ["redis", "sqlite"]) {
  for (const instances of [1, 2, 3]) {
    const m = await withDemo(technique, instances, measure);
    rows.push({ technique, instances, ...m });
    console.log(`  ${technique} × ${instances}: cart page ${m.read.rps} req/s (p99 ${m.read.p99} ms), add+remove ${m.write.rps} req/s (p99 ${m.write.p99} ms)`);
  }
}
const results = {
  date: new Date().toISOString(),
  machine: { cores: os.availableParallelism(), node: process.version },
  connections: CONNECTIONS,
  seconds: SECONDS,
  rows,
};
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, `bench/results/scale${quick ? "-quick" : ""}.json`), `${JSON.stringify(results, null, 2)}\n`);
console.table(
  Object.fromEntries(
    rows.map((r) => [
      `${r.technique} × ${r.instances}`,
      { "cart page req/s": r.read.rps, "p99 ms": r.read.p99, "add+remove req/s": r.write.rps, "p99 ms ": r.write.p99 },
    ]),
  ),
);
