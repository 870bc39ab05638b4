/**
 * The cleanup job: deletes expired session records so the table does not grow forever.
 *
 * Expiry itself is enforced on every read (storage.ts); this job only reclaims space. It runs
 * once at start-up, then on a timer that is unref()'d (it never keeps the process alive) and
 * jittered (several instances sharing one database do not all sweep at the same instant).
 * It deletes in batches of about 5 ms and rests between them, taking at most a quarter of the
 * event loop's time: a backlog of a million rows is worked off in the background while requests
 * keep flowing. Batches are sized by time, not rows, because a row's cost varies tenfold (random
 * keys spread over the table: a fixed 500-row batch blocked requests 15–40 ms at 200k rows).
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../clock.ts";
import type { SessionStore } from "./types.ts";

export interface CleanupOptions {
  store: SessionStore;
  clock: Clock;
  intervalMs: number;
  batchSize?: number;
  maxShare?: number;
  /** Called after each sweep that removed something (and after manual sweeps), for the log line. */
  onSweep?: (result: SweepResult) => void;
  onError?: (error: unknown) => void;
}

export type SweepResult = { removed: number; batches: number; ms: number; slowestBatchMs: number };

/** batchSize: the first batch; batchMs: a batch's time budget; maxShare: after t ms of work, rest t·(1/share − 1); signal: stop. */
export type SweepOptions = { batchSize?: number; batchMs?: number; maxShare?: number; signal?: AbortSignal };

/** Aim the next batch at `targetMs`, at most doubling or halving per step, within 10..5000 rows. */
export function nextBatchSize(size: number, ms: number, targetMs: number): number {
  if (!Number.isFinite(targetMs)) return size; // no time budget: a fixed size
  const ideal = ms > 0 ? size * (targetMs / ms) : size * 2;
  return Math.round(Math.min(5000, Math.max(10, size / 2, Math.min(size * 2, ideal))));
}

/** Delete every record expired at `now`, one batch at a time. */
export async function sweepExpired(store: SessionStore, now: number, options: SweepOptions = {}): Promise<SweepResult> {
  const { batchMs = 5, maxShare = 1, signal } = options;
  let batchSize = options.batchSize ?? 200;
  const started = performance.now();
  let removed = 0;
  let batches = 0;
  let slowestBatchMs = 0;
  while (!signal?.aborted) {
    const batchStarted = performance.now();
    const n = await store.deleteExpired(now, batchSize);
    const took = performance.now() - batchStarted;
    removed += n;
    batches++;
    slowestBatchMs = Math.max(slowestBatchMs, took);
    if (n < batchSize) break;
    batchSize = nextBatchSize(batchSize, took, batchMs);
    // Let waiting requests run between batches; when pacing, rest long enough to keep to our share.
    const rest = maxShare < 1 ? took * (1 / maxShare - 1) : 0;
    if (rest >= 1) await sleep(rest, undefined, { signal }).catch(() => undefined);
    else await yieldToEventLoop();
  }
  return { removed, batches, ms: performance.now() - started, slowestBatchMs };
}

export function startSessionCleanup(options: CleanupOptions) {
  const { store, clock, intervalMs, batchSize, maxShare = 0.25, onSweep, onError } = options;
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  let running: Promise<SweepResult | undefined> = Promise.resolve(undefined);

  const runOnce = (): Promise<SweepResult | undefined> => {
    // Never two sweeps at once: a manual "sweep now" during a timed sweep waits for it.
    running = running.then(async () => {
      try {
        const result = await sweepExpired(store, clock.now(), { batchSize, maxShare, signal: stopping.signal });
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
    if (stopping.signal.aborted) return;
    const jitter = 0.9 + Math.random() * 0.2; // ±10%
    timer = setTimeout(async () => {
      await runOnce();
      schedule();
    }, intervalMs * jitter);
    timer.unref();
  };

  const firstRun = runOnce();
  schedule();

  // runOnce: the instructor's "sweep now"; stop ends a sweep after its batch (each commits alone: the next start carries on).
  return {
    firstRun,
    runOnce,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
