/**
 * npm run test:fast: every unit test file that needs no server and starts no process — pure
 * functions, SQLite on a temp file, the memory store, the real app over HTTP on port 0 in the test's
 * own process. Left out: files that start redis-server, nginx or PostgreSQL (the helpers in
 * src/test/, or scale-demo), and files that run another process (the shop's server, a script):
 * those run in `npm run test:unit` / `npm test`, which fail loudly when a server is not installed.
 * Arguments after `--` go to node --test.
 *
 *   npm run test:fast            ≥ 150 tests, under a minute on two cores
 *   node scripts/test-fast.ts --list   the files it would run, and the ones it leaves out
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** What makes a test file need a server: one of the helpers that start one, or the script that does. */
export const NEEDS_A_SERVER = /from "[^"]*test\/(redis-server|nginx|tcp-proxy|postgres[^"]*|rolling-restart-load|hosts)\.ts"|scripts\/scale-demo\.ts/;
/** What makes one slow to start: it runs another process (the shop's server, a script), seconds of start-up each. */
export const STARTS_A_PROCESS = /\b(spawn|execFile|startServerProcess|gradeExercise)\b|\bfork\(/;

const testFiles = (dir: string): string[] =>
  fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : []));

export function fastTestFiles(): { fast: string[]; slow: string[] } {
  const all = [...testFiles("src"), ...testFiles("scripts")].sort();
  const slow = all.filter((f) => {
    const text = fs.readFileSync(path.join(root, f), "utf8");
    return NEEDS_A_SERVER.test(text) || STARTS_A_PROCESS.test(text);
  });
  return { fast: all.filter((f) => !slow.includes(f)), slow };
}

if (import.meta.main) {
  const { fast, slow } = fastTestFiles();
  if (process.argv.includes("--list")) {
    console.log(`fast (${fast.length} files):\n  ${fast.join("\n  ")}\nleft out, need a server or start a process (${slow.length}):\n  ${slow.join("\n  ")}`);
  } else {
    // Two files at a time even on two cores (node's default is one fewer than the cores): many of
    // them spend their time waiting on a child process's start-up, not on the CPU.
    // The files that test the shop's data on both databases run on SQLite only here: a PostgreSQL
    // cluster per file is a server and seconds of start-up. npm test runs them on both.
    console.log("test:fast: the shop's data on SQLite only (TEST_DATA_STORES=sqlite); npm test runs PostgreSQL too");
    const env = { ...process.env, TEST_DATA_STORES: "sqlite" };
    const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...process.argv.slice(2), ...fast], { cwd: root, stdio: "inherit", env });
    process.exit(result.status ?? 1);
  }
}
