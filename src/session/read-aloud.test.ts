/**
 * The session folder is the lesson: an instructor reads its core path aloud in one sitting. These
 * checks keep it that way — no code that exists only for a classroom lab (that lives in
 * src/classroom/vulnerable-storage.ts), and a path short enough to read.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root } from "../test/harness.ts";

/** In reading order: what a session is, where IDs come from, how they travel, the lifecycle, sealing at rest, the SQL, the cleanup, the wiring. */
const READ_ALOUD = ["types.ts", "id.ts", "cookie.ts", "errors.ts", "storage.ts", "seal.ts", "stores/sqlite-store.ts", "cleanup.ts", "middleware.ts"];

const sessionDir = path.join(root, "src/session");
const sourceFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : [],
    );

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

  it("keeps the read-aloud path under 700 lines", () => {
    const lines = READ_ALOUD.map((f) => fs.readFileSync(path.join(sessionDir, f), "utf8").split("\n").length - 1);
    const total = lines.reduce((a, b) => a + b, 0);
    assert.ok(total < 700, `${total} lines: ${READ_ALOUD.map((f, i) => `${f} ${lines[i]}`).join(", ")}`);
  });
});
