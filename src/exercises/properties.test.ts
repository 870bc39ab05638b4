/** The grader's words cover the whole contract: a test added to the suite without words fails here. */
import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { contractProperties } from "./properties.ts";

it("every test of the store contract has plain words and a lesson link for the grader", () => {
  const suite = fs.readFileSync(path.join(import.meta.dirname, "../test/store-contract.ts"), "utf8");
  const names = [...suite.matchAll(/\bit\("([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(names.length >= 15, "the contract's tests were found");
  const missing = names.filter((n) => !contractProperties[n]);
  assert.deepEqual(missing, [], "contract tests the grader has no words for (src/exercises/properties.ts)");
  for (const p of Object.values(contractProperties)) {
    const file = p.lesson.split("#")[0]!;
    assert.ok(fs.existsSync(path.join(import.meta.dirname, "../..", file)), `${p.short}: ${file} exists`);
  }
});
