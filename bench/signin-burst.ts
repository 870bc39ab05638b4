/**
 * A burst of simultaneous sign-ins against the real server, and what it does to everybody else:
 * the latency of an unrelated page (a 404, which touches no session) and of the stylesheet,
 * requested one after another the whole time by a second visitor.
 *
 *   node bench/signin-burst.ts [--signins 20] [--rounds 3] [-- <command…>]   default: node src/server.ts
 *
 * Accounts are registered first (quietly), then each round measures a few seconds without a
 * burst (baseline) and the time while N sign-ins run at once. Prints p50/p99/max in ms.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const SIGNINS = flag("--signins", 20);
const ROUNDS = flag("--rounds", 3);
const dashes = argv.indexOf("--");
const command = dashes === -1 ? [process.execPath, "src/server.ts"] : argv.slice(dashes + 1);
const PASSWORD = "correct horse battery staple";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signin-burst-"));
const env = {
  ...process.env,
  PORT: "0",
  HOST: "127.0.0.1",
  DATABASE_PATH: path.join(dir, "shop.sqlite"),
  SESSION_SECRETS: "signin-burst-secret-0123456789abcdef",
  LOG_LEVEL: "warn",
};
const child = spawn(command[0]!, command.slice(1), { cwd: root, env: { ...env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "inherit"] });
let out = "";
const base = await new Promise<string>((resolve, reject) => {
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    const m = /"port":(\d+)/.exec(out);
    if (m) resolve(`http://127.0.0.1:${m[1]}`);
  });
  child.once("exit", () => reject(new Error(out)));
});

/** A browser-like visitor: cookies, the form's CSRF token, same-origin headers. */
function visitor() {
  const cookies = new Map<string, string>();
  let csrf = "";
  const request = async (method: string, url: string, form?: Record<string, string>) => {
    const headers: Record<string, string> = { origin: base, "sec-fetch-site": "same-origin" };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams({ _csrf: csrf, ...form }).toString();
    }
    const res = await fetch(base + url, { method, headers, body, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const text = await res.text();
    csrf = /name="_csrf" value="([^"]*)"/.exec(text)?.[1] ?? csrf;
    return res.status;
  };
  return { request };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: +percentile(s, 50).toFixed(1), p99: +percentile(s, 99).toFixed(1), max: +(s.at(-1) ?? NaN).toFixed(1) };
};

/** The bystander: one request after another until `until` resolves. */
async function bystander(until: Promise<unknown>, paths: string[]) {
  let done = false;
  void until.then(() => (done = true));
  const times: number[] = [];
  for (let i = 0; !done; i++) {
    const started = performance.now();
    const res = await fetch(base + paths[i % paths.length]!);
    await res.arrayBuffer();
    times.push(performance.now() - started);
  }
  return times;
}

try {
  const emails = Array.from({ length: SIGNINS }, (_, i) => `burst-${i}@example.com`);
  for (const email of emails) {
    const v = visitor();
    await v.request("GET", "/register");
    const status = await v.request("POST", "/register", { email, password: PASSWORD });
    if (status !== 303) throw new Error(`register ${email}: ${status}`);
  }
  const paths = ["/no-such-page", "/style.css"];
  const baseline: number[] = [];
  const during: number[] = [];
  const statuses: Record<string, number> = {};
  let burstMs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    baseline.push(...(await bystander(new Promise((r) => setTimeout(r, 2000)), paths)));
    const visitors = emails.map(() => visitor());
    for (const v of visitors) await v.request("GET", "/login");
    const started = performance.now();
    const burst = Promise.all(
      visitors.map((v, i) =>
        v.request("POST", "/login", { email: emails[i]!, password: PASSWORD }).then((s) => {
          statuses[s] = (statuses[s] ?? 0) + 1;
        }),
      ),
    );
    during.push(...(await bystander(burst, paths)));
    burstMs += performance.now() - started;
  }
  console.log(
    JSON.stringify({
      node: process.version,
      command: command.join(" "),
      signins: SIGNINS,
      rounds: ROUNDS,
      burstMs: Math.round(burstMs / ROUNDS),
      signinStatuses: statuses,
      bystanderBaselineMs: summary(baseline),
      bystanderDuringBurstMs: summary(during),
    }),
  );
} finally {
  child.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
}
