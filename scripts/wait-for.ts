/**
 * waitFor(url): poll until a freshly started shop answers, for the scripts that start shops
 * (classroom, scale-demo). A shop that exits during start-up fails at once with a message,
 * instead of 30 s of polling a port nobody will ever open.
 */
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

export async function waitFor(url: string, { child, timeoutMs = 30_000 }: { child?: ChildProcess; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`a shop exited during start-up (see its log above)`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${Math.round(timeoutMs / 1000)} s`);
}
