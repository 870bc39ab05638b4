/** Small helpers for tests and scripts that run real processes on real ports. */
import type { ChildProcess } from "node:child_process";
import net from "node:net";

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The first of `count` consecutive free ports (for scripts that use "this port and the next ones"). */
export async function consecutiveFreePorts(count: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, d) => isFree(base + d)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/** SIGTERM and wait for the exit; nothing to do when it already exited. */
export async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
