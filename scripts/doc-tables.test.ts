import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { docTables } from "./doc-tables.ts";

describe("the docs' figures tables", () => {
  it("say exactly what bench/results/*.json says (regenerate with node scripts/doc-tables.ts)", () => {
    for (const [file, current, wanted] of docTables()) assert.equal(current, wanted, `${file} is out of date with bench/results`);
  });
});
