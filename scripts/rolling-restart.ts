/**
 * Restarting one instance behind a balancer without a single 5xx: the procedure that
 * `npm run scale-demo` runs when you press an instance's key, and that the rolling-restart test runs
 * under load. (docs/scaling.md gives the same procedure for an orchestrator.)
 *
 * Why not just SIGTERM: the instance then stops listening while nginx still chooses it. A
 * connection nginx opens in that instant is still in the kernel's accept queue and is reset with
 * its request, and nginx does not retry a POST it has sent: a 502 for a shopper (6 POSTs in 2 of
 * 4 rounds with `keepalive 16`, issue 26). The cure is the one balancers use: take the instance
 * out of rotation first, and only then let it stop listening.
 *
 *   1. nginx marks it `down` and reloads: new requests go to the others. The old nginx worker
 *      finishes what it has in flight on its connections to the instance.
 *   2. SIGTERM: with SHUTDOWN_DELAY_SECONDS the instance keeps serving (readiness 503, every answer
 *      with Connection: close) for that long, then stops listening and drains; it exits 0.
 *   3. A new process on the same port; wait until its readiness probe (GET /readyz) says 200.
 *   4. nginx puts it back (reload).
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface Balancer {
  /** Take these instances (ports) out of rotation; [] puts everyone back. Resolves once in effect. */
  markDown(ports: number[]): Promise<void>;
}

export interface RestartSteps {
  balancer: Balancer;
  port: number;
  /** Sends SIGTERM; resolves with the exit code once the process has ended. */
  stop(): Promise<number | null>;
  /** Starts the new process on `port`. */
  start(): Promise<void>;
  /** How long to wait for the new process's readiness probe. */
  readyTimeoutMs?: number;
}

export async function restartBehindBalancer({ balancer, port, stop, start, readyTimeoutMs = 30_000 }: RestartSteps) {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const step = (name: string) => {
    timings[name] = Date.now() - t;
    t = Date.now();
  };
  await balancer.markDown([port]);
  step("out of rotation");
  const exitCode = await stop();
  step("stopped");
  await start();
  await waitUntilReady(`http://127.0.0.1:${port}/readyz`, readyTimeoutMs);
  step("new process ready");
  await balancer.markDown([]);
  step("back in rotation");
  return { exitCode, timings };
}

export async function waitUntilReady(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not say ready within ${Math.round(timeoutMs / 1000)} s`);
}
