/**
 * openDatabase(file): one better-sqlite3 connection with the settings the whole app relies on.
 *
 * - WAL: readers never block the writer and vice versa, and several processes can share the file.
 * - synchronous=NORMAL in WAL mode: a commit is durable against a crash of this process (the WAL
 *   is in the OS before the response goes out); only a power cut can lose the last commits.
 * - busy_timeout: a bounded wait for another process's write lock, then SQLITE_BUSY. The full wait
 *   (SQLITE_BUSY_TIMEOUT_MS) only at start-up, while migrating; serving requests, SQLite itself
 *   waits a few ms at most (forRequests) and the wait is continued from the event loop
 *   (db/unavailable.ts), because SQLite's own wait blocks the whole process.
 * - foreign_keys: SQLite leaves them off unless asked, per connection.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

export function openDatabase(file: string, options: { busyTimeoutMs?: number } = {}): Db {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 2000)}`);
  db.pragma("foreign_keys = ON");
  // After a checkpoint has copied everything back, the WAL is reused from its start but keeps
  // its size; a burst (the sweep of a big backlog) would leave a huge file behind. Cap it.
  db.pragma("journal_size_limit = 67108864");
  return db;
}

/** SQLite's own (blocking) wait for a lock while serving requests: a few ms, then retry from the event loop. */
export const REQUEST_BUSY_TIMEOUT_MS = 5;

export function forRequests(db: Db): Db {
  db.pragma(`busy_timeout = ${REQUEST_BUSY_TIMEOUT_MS}`);
  return db;
}
