/** `npm run sessions:clean` for real: the script on a real database file, as a user runs it. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { freshDatabase, root } from "../src/test/harness.ts";
import { startPostgresServer } from "../src/test/postgres-server.ts";

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

  it("with SESSION_STORE=postgres, removes the expired rows of DATABASE_URL's sessions table", async () => {
    const server = await startPostgresServer();
    try {
      const url = await server.database();
      const env = { ...process.env, SESSION_STORE: "postgres", DATABASE_URL: url };
      const run = () => promisify(execFile)(process.execPath, ["scripts/clean-sessions.ts"], { cwd: root, env, timeout: 20_000 });
      assert.match((await run()).stdout, /^Removed 0 expired sessions in \d+ ms \(0 live left\) from PostgreSQL/, "creates the table on a fresh database");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const now = Date.now();
      await client.query(
        "INSERT INTO sessions SELECT 'k' || g, '{}', NULL, $1::bigint, $1::bigint, CASE WHEN g <= 42 THEN $1::bigint - 1 ELSE $1::bigint + 3600000 END, NULL FROM generate_series(1, 45) g",
        [now],
      );
      assert.match((await run()).stdout, /^Removed 42 expired sessions in \d+ ms \(3 live left\) from PostgreSQL/);
      assert.equal((await client.query("SELECT count(*)::int AS n FROM sessions")).rows[0].n, 3);
      await client.end();
    } finally {
      await server.close();
    }
  });
});
