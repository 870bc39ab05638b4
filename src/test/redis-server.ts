/**
 * A real redis-server for tests (Debian's redis-server package; `.ci/run` installs it): its own
 * temp dir, a free port, no persistence. Missing binary = a loud failure, never a silent skip.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, stopProcess } from "./processes.ts";

const BINARY = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p));

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("error", () => resolve(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
  });
}

/** `persistent`: an append-only file fsynced on every write, so a stop/start keeps every acknowledged write. */
export async function startRedisServer({ persistent = false } = {}) {
  if (!BINARY) throw new Error("redis-server is not installed: these tests need a real Redis. Install Debian's redis-server (apt-get install redis-server).");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-test-"));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const persistence = persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    child = spawn(BINARY, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--dir", dir], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (await answersPing(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${port}`);
  };
  const stop = () => stopProcess(child);
  /**
   * A crash, not a shutdown: `kill -9` drops every connection at once (no reply, no save). The
   * signal goes out synchronously, before this returns its promise; the promise waits for the exit
   * (not for SIGSTOP/SIGCONT, which do not end the process).
   */
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    if (signal !== "SIGSTOP" && signal !== "SIGCONT") await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    /** The running redis-server's process ID (the benchmark counts its CPU with the stack that uses it). */
    get pid() {
      return (child as ChildProcess | null)?.pid ?? null;
    },
    /** Stop Redis (to test an outage); start() brings it back on the same port. */
    stop,
    /** A real signal to redis-server: SIGSTOP freezes it (connections stay open, nothing answers), SIGCONT thaws it. */
    signal(sig: NodeJS.Signals) {
      if (!child) throw new Error("redis-server is not running");
      child.kill(sig);
    },
    kill,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
