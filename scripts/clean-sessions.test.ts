/** `npm run sessions:clean` for real: the script on a real database file, as a user runs it. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { freshDatabase, root } from "../src/test/harness.ts";

describe("npm run sessions:clean", () => {
  it("removes expired rows and prints how many", async () => {
    const { db, file, dir } = freshDatabase();
    const insert = db.prepare("INSERT INTO sessions VALUES (?, '{\"cart\":[]}', NULL, ?, ?, ?, NULL)");
    const seed = (n: number, expiresAt: number, tag: string) => {
      for (let i = 0; i < n; i++) insert.run(`${tag}-${i}`, expiresAt - 1000, expiresAt - 1000, expiresAt);
    };
    db.transaction(() => {
      seed(42, Date.now() - 60_000, "stale");
      seed(3, Date.now() + 3_600_000, "fresh");
    }).immediate();
    db.close();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ["scripts/clean-sessions.ts"], {
        cwd: root,
        env: { ...process.env, DATABASE_PATH: file },
        timeout: 20_000,
      });
      assert.match(stdout, /^Removed 42 expired sessions in \d+ ms \(3 live left\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
