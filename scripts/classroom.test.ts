/**
 * `npm run classroom` for real: three server processes on consecutive ports, each labelled with its
 * technique, sharing accounts; stopped cleanly with SIGTERM.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client, root, tempDir } from "../src/test/harness.ts";
import { consecutiveFreePorts } from "../src/test/processes.ts";

describe("npm run classroom", () => {
  it("serves the SQLite, memory, cookie and PostgreSQL shops side by side, each labelled, and stops on SIGTERM", async () => {
    const dir = tempDir();
    const port = await consecutiveFreePorts(4);
    const child = spawn(process.execPath, [path.join(root, "scripts/classroom.ts"), "--port", String(port)], {
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
      // The fourth (PostgreSQL) runs on a cluster the classroom starts itself (Debian's postgresql, which CI installs).
      for (const [offset, name, technique] of [
        [0, "SQLite", "sqlite"],
        [1, "Memory", "memory"],
        [2, "Cookie", "cookie"],
        [3, "PostgreSQL", "postgres"],
      ] as const) {
        const res = await fetch(`http://127.0.0.1:${port + offset}/labs`);
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.match(html, new RegExp(`Classroom :${port + offset} · ${name} sessions`), `${name} shop is labelled in its header`);
        assert.equal(res.headers.get("x-served-by"), `${technique}-${port + offset}`);
      }
      // Vulnerable modes are allowed in the classroom (still off): the instructor could switch them on.
      assert.doesNotMatch(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /Deliberately vulnerable/);

      // An instructor watching the live dashboard must not hold up a shutdown.
      const base = `http://127.0.0.1:${port}`;
      const teacher = new Client(base);
      await teacher.get("/instructor/login"); // the form, with its pre-session token
      const login = await teacher.post(
        "/instructor/login",
        { password: "classroom-test-password", next: "/instructor" },
        { origin: base, "sec-fetch-site": "same-origin" },
      );
      assert.equal(login.status, 303);
      const pass = `shop_instructor=${teacher.cookies.get("shop_instructor")}`;
      const stream = await fetch(`${base}/instructor/events`, { headers: { cookie: pass } });
      assert.equal(stream.headers.get("content-type"), "text/event-stream");
      const first = await stream.body!.getReader().read();
      assert.match(Buffer.from(first.value!).toString(), /event: live/);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      const asked = Date.now();
      child.kill("SIGTERM");
      assert.equal(await exited, 0, "the classroom stops all the shops (and its PostgreSQL cluster) and exits cleanly");
      assert.ok(Date.now() - asked < 8_000, "an open live-dashboard stream does not hold up the shutdown (the force-exit comes at 10 s)");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
