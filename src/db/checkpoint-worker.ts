/**
 * The checkpointer's thread (see checkpointer.ts): its own connection to the same file, copying
 * the WAL back into the database every few hundred ms with a PASSIVE checkpoint, which never
 * waits for readers or writers: whatever it cannot copy now, it copies next time.
 */
import fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, intervalMs, walLimitBytes } = workerData as { file: string; intervalMs: number; walLimitBytes: number };
const db = new Database(file, { fileMustExist: true });
// This thread may wait for SQLite's locks: nobody's request waits on it.
db.pragma("busy_timeout = 1000");

const walBytes = () => fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;

/**
 * A PASSIVE checkpoint copies pages back but never shrinks the file, and journal_size_limit
 * trims it only when a writer starts the WAL over: after a flood with no write behind it the WAL
 * kept its size (617 MB after a 20 s flood, issue 29). So once everything is copied and the file
 * is over the limit, truncate it, without waiting (busy_timeout 0): if a reader or a writer is in
 * the way, SQLite says busy at once and we try again at the next tick. Holding the write lock that
 * long is a truncate of a file whose pages are all copied already: well under a millisecond.
 */
const truncateIfOversized = (result: { log: number; checkpointed: number }) => {
  if (result.log <= 0 || result.checkpointed !== result.log || walBytes() <= walLimitBytes) return;
  db.pragma("busy_timeout = 0");
  try {
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.pragma("busy_timeout = 1000");
  }
};

const checkpoint = () => {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
    if (result) truncateIfOversized(result);
    parentPort?.postMessage({ type: "checkpointed", ...result });
  } catch (error) {
    // A busy or briefly unavailable file is retried at the next tick; the main thread hears of it.
    parentPort?.postMessage({ type: "error", message: String((error as Error).message ?? error) });
  }
};

const timer = setInterval(checkpoint, intervalMs);
parentPort?.on("message", (message: { type: string }) => {
  if (message.type !== "stop") return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort?.postMessage({ type: "stopped" });
});
