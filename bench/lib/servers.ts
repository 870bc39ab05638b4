/** Start a benchmark server (a child process that prints {"port": n}) and stop it. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface BenchServer {
  name: string;
  url: string;
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

export async function startBenchServer(
  root: string,
  script: string,
  name: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<BenchServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, script), name, dir], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before listening:\n${err}`)));
  });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `count` sessions on a bench stack (bench/stack-server.ts), one `POST /add` each: the request
 * headers that carry them (the cookies it set). A stack without sessions sets none: `{ cookie: "" }`.
 */
export async function newSessions(url: string, count: number, productId = 2): Promise<Record<string, string>[]> {
  const sessions: Record<string, string>[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/add`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `productId=${productId}` });
    if (res.status !== 204) throw new Error(`${url}: creating a session answered ${res.status}`);
    sessions.push({ cookie: cookieHeaderOf(res.headers.getSetCookie()) });
  }
  return sessions;
}

/** The Cookie request header that sends back what these Set-Cookie headers set. */
export const cookieHeaderOf = (setCookies: string[]) => setCookies.map((c) => c.split(";")[0]).join("; ");
