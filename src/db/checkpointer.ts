/**
 * startCheckpointer(db): WAL checkpoints off the event loop.
 *
 * In WAL mode every commit appends pages to the -wal file, and by default the commit that
 * pushes the WAL past 1,000 pages also copies them all back into the database file and
 * fsyncs it — synchronously, inside whatever request happened to commit. Measured on this
 * 2-core machine while the cleanup job deleted 200,000 expired sessions: 35–57 ms stalls of the
 * whole process every few batches, which was most of a shopper's p99. So the serving
 * connection never checkpoints (wal_autocheckpoint = 0) and a worker thread with its own
 * connection does it on a timer, with PASSIVE checkpoints that never block a reader or a writer.
 *
 * After a burst it also truncates a WAL left over journal_size_limit (checkpoint-worker.ts).
 *
 * If the worker cannot start or dies, the connection goes back to SQLite's automatic
 * checkpoints: slower tails, but the WAL never grows without bound.
 */
import { Worker } from "node:worker_threads";
import type { Db } from "./open.ts";

/** SQLite's own default, restored when the worker is not running. */
const AUTO_CHECKPOINT_PAGES = 1000;

export interface CheckpointerOptions {
  intervalMs?: number;
  onError?: (error: Error) => void;
}

export interface Checkpointer {
  /** Resolves after the worker's first checkpoint attempt (tests, benchmarks). */
  readonly ready: Promise<void>;
  /** A last checkpoint, then the worker stops and the connection checkpoints by itself again. */
  stop(): Promise<void>;
}

export function startCheckpointer(db: Db, options: CheckpointerOptions = {}): Checkpointer | null {
  // An in-memory database has no WAL and no file another connection could open.
  if (db.memory || db.name === "" || db.name === ":memory:") return null;
  const { intervalMs = 250, onError } = options;
  // The serving connection's journal_size_limit (db/open.ts): the worker brings the WAL back under it after a burst.
  const walLimitBytes = Number(db.pragma("journal_size_limit", { simple: true }));
  const worker = new Worker(new URL("./checkpoint-worker.ts", import.meta.url), {
    workerData: { file: db.name, intervalMs, walLimitBytes: walLimitBytes >= 0 ? walLimitBytes : Number.POSITIVE_INFINITY },
  });
  db.pragma("wal_autocheckpoint = 0");
  let stopped = false;

  const fallBack = (error: Error) => {
    if (!db.open) return;
    db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    onError?.(error);
  };
  worker.on("error", fallBack);
  worker.on("exit", (code) => {
    if (!stopped) fallBack(new Error(`the WAL checkpointer stopped (exit code ${code}); SQLite checkpoints by itself again`));
  });
  // Kept alive until its first checkpoint (or its failure) is heard of, then never keeps the process alive.
  const ready = new Promise<void>((resolve) => {
    const first = () => {
      worker.off("message", first);
      worker.unref();
      resolve();
    };
    worker.on("message", first);
    worker.once("exit", () => resolve());
  });
  worker.on("message", (message: { type: string; message?: string }) => {
    if (message.type === "error") onError?.(new Error(`WAL checkpoint failed, retrying: ${message.message}`));
  });

  return {
    ready,
    async stop() {
      if (stopped) return;
      stopped = true;
      const done = new Promise<void>((resolve) => {
        worker.on("message", (m: { type: string }) => m.type === "stopped" && resolve());
        worker.once("exit", () => resolve());
      });
      worker.ref(); // the answer to "stop" must be waited for, even when nothing else keeps the process alive
      worker.postMessage({ type: "stop" });
      let timer: NodeJS.Timeout | undefined;
      // A last checkpoint is a courtesy (the next start, or the closing connection, copies the rest):
      // not worth more than a second of a shutdown.
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      await worker.terminate();
      if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    },
  };
}
