/**
 * The session folder is the lesson: an instructor reads its core path aloud in one sitting. These
 * checks keep it that way — no code that exists only for a classroom lab (that lives in
 * src/classroom/vulnerable-storage.ts), and a path short enough to read.
 *
 * The path is measured by what runs, not by a list: every file a SQLite request's session code
 * imports (type imports too, since a reader opens those as well), followed from the middleware, the
 * storage and the SQLite store. Speed-ups composed around them in technique.ts are not on it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root } from "../test/harness.ts";

const sessionDir = path.join(root, "src/session");
const sourceFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : [],
    );

/** Where the lesson starts: what every request runs (middleware), the lifecycle, the default store. */
const ENTRY_POINTS = ["src/session/middleware.ts", "src/session/storage.ts", "src/session/stores/sqlite-store.ts"];

/** The files reached from the entry points through relative imports and re-exports (type-only included), in the order found. */
function readAloudPath(): string[] {
  const found: string[] = [];
  const queue = [...ENTRY_POINTS];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (found.includes(file)) continue;
    found.push(file);
    const text = fs.readFileSync(path.join(root, file), "utf8");
    for (const [, spec] of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)) {
      queue.push(path.posix.join(path.posix.dirname(file), spec!));
    }
  }
  return found;
}

describe("the session core, read aloud", () => {
  it("contains nothing that exists only for a vulnerable lab", () => {
    for (const file of sourceFiles(sessionDir)) {
      const text = fs.readFileSync(file, "utf8");
      // (The word "fixation" may appear: the honest code explains that regenerating the ID defeats it.)
      for (const marker of [/LAB \d+ ONLY/, /labModes|LabModes/, /"lab-[a-z-]+"/, /sequentialIds|cookieOnlyLogout|plantedId/]) {
        assert.ok(!marker.test(text), `${path.relative(root, file)} mentions ${marker}`);
      }
    }
  });

  it("keeps the path a SQLite request runs through within 800 lines and 5,500 words (about 40 minutes aloud)", () => {
    const files = readAloudPath();
    const counted = files.map((file) => {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      return { file, lines: text.split("\n").length - 1, words: text.split(/\s+/).filter(Boolean).length };
    });
    const lines = counted.reduce((n, f) => n + f.lines, 0);
    const words = counted.reduce((n, f) => n + f.words, 0);
    const listing = counted.map((f) => `${f.file} ${f.lines}/${f.words}`).join(", ");
    assert.ok(lines <= 800 && words <= 5500, `${files.length} files, ${lines} lines, ${words} words: ${listing}`);
    // The docs name every file on the path, so a reader can find each one.
    for (const doc of ["README.md", "docs/how-sessions-work.md"]) {
      const text = fs.readFileSync(path.join(root, doc), "utf8");
      const missing = files.filter((f) => !text.includes(f.replace(/^src\//, "")));
      assert.deepEqual(missing, [], `${doc} does not name these files on the path`);
    }
  });

  it("follows type imports and re-exports, and leaves out the speed-ups, other techniques and tests", () => {
    const files = readAloudPath();
    assert.ok(files.includes("src/session/types.ts"), "a type-only import is on the path");
    assert.ok(files.includes("src/session/seal.ts") && files.includes("src/session/cookie.ts"));
    for (const file of files) assert.doesNotMatch(file, /speed\/|redis|memory-store|cookie-storage|technique|\.test\.ts$/);
  });
});
