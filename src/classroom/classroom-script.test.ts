/**
 * `npm run classroom` for real: three server processes on consecutive ports, each labelled with its
 * technique, sharing accounts; stopped cleanly with SIGTERM.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { root, tempDir } from "../test/harness.js";

/** Three consecutive free ports (tries a few random bases). */
async function threeFreePorts(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await free(base)) && (await free(base + 1)) && (await free(base + 2))) return base;
  }
  throw new Error("no three consecutive free ports");
}

describe("npm run classroom", () => {
  it("serves the SQLite, memory and cookie shops side by side, each labelled, and stops on SIGTERM", async () => {
    const dir = tempDir();
    const port = await threeFreePorts();
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/classroom.ts"), "--port", String(port)], {
      cwd: root,
      env: { ...process.env, DATABASE_PATH: path.join(dir, "classroom.sqlite"), INSTRUCTOR_PASSWORD: "classroom-test-password", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 600 && !out.includes("Keys: m = restart"); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /Keys: m = restart/, `the classroom printed its addresses:\n${out}`);
      for (const [offset, name] of [[0, "SQLite"], [1, "Memory"], [2, "Cookie"]] as const) {
        const res = await fetch(`http://127.0.0.1:${port + offset}/labs`);
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.match(html, new RegExp(`Classroom :${port + offset} · ${name} sessions`), `${name} shop is labelled in its header`);
        assert.equal(res.headers.get("x-served-by"), `${name.toLowerCase()}-${port + offset}`);
      }
      // Vulnerable modes are allowed in the classroom (still off): the instructor could switch them on.
      assert.doesNotMatch(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /Deliberately vulnerable/);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      assert.equal(await exited, 0, "the classroom stops all three shops and exits cleanly");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
