/**
 * Process start-up time and memory of the shop, as `npm start` runs it.
 *
 *   node bench/startup.ts [--runs 9] [-- <command…>]     default command: node src/server.ts
 *
 * Times spawn → the "is open" log line on an existing database (the first run creates, migrates and
 * seeds it and is not counted), then fetches two pages and reads the process's VmRSS from /proc.
 * Prints the medians. Linux only (/proc).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const runsAt = argv.indexOf("--runs");
const runs = runsAt === -1 ? 9 : Number(argv[runsAt + 1]);
const dashes = argv.indexOf("--");
const command = dashes === -1 ? [process.execPath, "src/server.ts"] : argv.slice(dashes + 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "startup-"));
const env = {
  ...process.env,
  PORT: "0",
  HOST: "127.0.0.1",
  DATABASE_PATH: path.join(dir, "shop.sqlite"),
  SESSION_SECRETS: "startup-bench-secret-0123456789abcdef",
  LOG_LEVEL: "info",
};

async function once(): Promise<{ ms: number; rssMB: number }> {
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error(`exited before listening:\n${out}`)));
  });
  const ms = performance.now() - started;
  for (const page of ["/", "/products/ceramic-teapot"]) await (await fetch(`http://127.0.0.1:${port}${page}`)).text();
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  return { ms, rssMB: rssKB / 1024 };
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
try {
  await once();
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  console.log(
    JSON.stringify({
      node: process.version,
      command: command.join(" "),
      runs,
      startupMs: Math.round(median(results.map((r) => r.ms))),
      fastestMs: Math.round(Math.min(...results.map((r) => r.ms))),
      rssMB: Math.round(median(results.map((r) => r.rssMB))),
    }),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
