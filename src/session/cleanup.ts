/**
 * The cleanup job: deletes expired session records so the table does not grow forever.
 *
 * Expiry itself is enforced on every read (storage.ts); this job only reclaims space. It runs
 * once at start-up, then on a timer that is unref()'d (it never keeps the process alive) and
 * jittered (several instances sharing one database do not all sweep at the same instant).
 * It deletes in small batches and pauses between them, so that it takes at most about a quarter
 * of the event loop's time: a backlog of a million rows is worked off in the background (slower,
 * on purpose) while requests keep flowing. Run by hand (npm run sessions:clean), it goes flat out.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../clock.ts";
import type { SessionStore } from "./types.ts";

export interface CleanupOptions {
  store: SessionStore;
  clock: Clock;
  intervalMs: number;
  batchSize?: number;
  /** The share of the event loop's time a sweep may take, 0..1 (default 0.25). */
  maxShare?: number;
  /** Called after each sweep that removed something (and after manual sweeps), for the log line. */
  onSweep?: (result: SweepResult) => void;
  onError?: (error: unknown) => void;
}

export interface SweepResult {
  removed: number;
  batches: number;
  ms: number;
}

export interface SweepOptions {
  batchSize?: number;
  /** The share of time the sweep may take: after a batch that took t ms it rests t·(1/share − 1) ms. */
  maxShare?: number;
}

/** Delete every record expired at `now`, one batch at a time. */
export async function sweepExpired(store: SessionStore, now: number, options: SweepOptions = {}): Promise<SweepResult> {
  const { batchSize = 500, maxShare = 1 } = options;
  const started = performance.now();
  let removed = 0;
  let batches = 0;
  for (;;) {
    const batchStarted = performance.now();
    const n = await store.deleteExpired(now, batchSize);
    removed += n;
    batches++;
    if (n < batchSize) break;
    // Let waiting requests run between batches; when pacing, rest long enough to keep to our share.
    const rest = maxShare < 1 ? (performance.now() - batchStarted) * (1 / maxShare - 1) : 0;
    if (rest >= 1) await sleep(rest);
    else await yieldToEventLoop();
  }
  return { removed, batches, ms: performance.now() - started };
}

export function startSessionCleanup(options: CleanupOptions) {
  const { store, clock, intervalMs, batchSize = 500, maxShare = 0.25, onSweep, onError } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<SweepResult | undefined> = Promise.resolve(undefined);

  const runOnce = (): Promise<SweepResult | undefined> => {
    // Never two sweeps at once: a manual "sweep now" during a timed sweep waits for it.
    running = running.then(async () => {
      try {
        const result = await sweepExpired(store, clock.now(), { batchSize, maxShare });
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
