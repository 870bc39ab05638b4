import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = new URL("./check-node.js", import.meta.url).pathname;

async function check(version: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [script, version]);
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

test("an old Node gets one sentence naming the Node needed and how to get it, and a non-zero exit", async () => {
  for (const old of ["20.20.2", "v18.19.0", "22.17.1", "16.0.0"]) {
    const { code, stderr } = await check(old);
    assert.equal(code, 1, `${old} must be refused`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line, not a stack trace: ${stderr}`);
    assert.match(lines[0] ?? "", new RegExp(`needs Node\\.js 24 \\(or 22\\.18 or later\\), but this is Node ${old.replace(/\./g, "\\.")}`));
    assert.match(lines[0] ?? "", /nvm install/);
  }
});

test("Node 22.18+, 24 and later pass silently", async () => {
  for (const fine of ["22.18.0", "22.21.1", "24.0.0", "24.21.0", "26.1.0"]) {
    assert.deepEqual(await check(fine), { code: 0, stderr: "" }, fine);
  }
  assert.deepEqual(await check(""), { code: 0, stderr: "" }, "the Node running this test");
});

test("every npm script that runs TypeScript checks Node first, and npm ci refuses an old Node", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
    engines: { node: string };
  };
  const runsTypeScript = Object.entries(pkg.scripts).filter(([name, command]) => !name.startsWith("pre") && /\.ts\b|playwright|npm run test:/.test(command));
  assert.ok(runsTypeScript.length >= 10);
  for (const [name] of runsTypeScript) {
    assert.equal(pkg.scripts[`pre${name}`], "node scripts/check-node.js", `pre${name}`);
  }
  assert.equal(pkg.engines.node, "^22.18.0 || >=24.0.0");
  assert.match(readFileSync(new URL("../.npmrc", import.meta.url), "utf8"), /^engine-strict=true$/m);
  assert.equal(readFileSync(new URL("../.nvmrc", import.meta.url), "utf8").trim(), "24");
  assert.equal(readFileSync(new URL("../.node-version", import.meta.url), "utf8").trim(), "24");
});
