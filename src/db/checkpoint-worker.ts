/**
 * The checkpointer's thread (see checkpointer.ts): its own connection to the same file, copying
 * the WAL back into the database every few hundred ms with a PASSIVE checkpoint, which never
 * waits for readers or writers: whatever it cannot copy now, it copies next time.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file, { fileMustExist: true });
// This thread may wait for SQLite's locks: nobody's request waits on it.
db.pragma("busy_timeout = 1000");

const checkpoint = () => {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
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
