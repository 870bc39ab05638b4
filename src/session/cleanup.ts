/**
 * The cleanup job: deletes expired session records so the table does not grow forever.
 *
 * Expiry itself is enforced on every read (storage.ts); this job only reclaims space. It runs
 * once at start-up, then on a timer that is unref()'d (it never keeps the process alive) and
 * jittered (several instances sharing one database do not all sweep at the same instant).
 * It deletes in bounded batches and yields to the event loop between them, so a backlog of a
 * million rows is worked off without ever stalling requests for long.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../clock.js";
import type { SessionStore } from "./types.js";

export interface CleanupOptions {
  store: SessionStore;
  clock: Clock;
  intervalMs: number;
  batchSize?: number;
  /** Called after each sweep that removed something (and after manual sweeps), for the log line. */
  onSweep?: (result: SweepResult) => void;
  onError?: (error: unknown) => void;
}

export interface SweepResult {
  removed: number;
  batches: number;
  ms: number;
}

/** Delete every record expired at `now`, one batch at a time. */
export async function sweepExpired(store: SessionStore, now: number, batchSize = 1000): Promise<SweepResult> {
  const started = performance.now();
  let removed = 0;
  let batches = 0;
  for (;;) {
    const n = await store.deleteExpired(now, batchSize);
    removed += n;
    batches++;
    if (n < batchSize) break;
    await yieldToEventLoop(); // let waiting requests run between batches
  }
  return { removed, batches, ms: performance.now() - started };
}

export function startSessionCleanup(options: CleanupOptions) {
  const { store, clock, intervalMs, batchSize = 1000, onSweep, onError } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<SweepResult | undefined> = Promise.resolve(undefined);

  const runOnce = (): Promise<SweepResult | undefined> => {
    // Never two sweeps at once: a manual "sweep now" during a timed sweep waits for it.
    running = running.then(async () => {
      try {
        const result = await sweepExpired(store, clock.now(), batchSize);
        if (result.removed > 0) onSweep?.(result);
        return result;
      } catch (error) {
        onError?.(error); // a failed sweep (e.g. database busy) is retried at the next tick
        return undefined;
      }
    });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    const jitter = 0.9 + Math.random() * 0.2; // ±10%
    timer = setTimeout(async () => {
      await runOnce();
      schedule();
    }, intervalMs * jitter);
    timer.unref();
  };

  const firstRun = runOnce();
  schedule();

  return {
    /** The start-up sweep, for callers that want to wait for it. */
    firstRun,
    /** Sweep now (the instructor's button, tests). */
    runOnce,
    /** Stop the timer and wait for a sweep in progress to finish. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
