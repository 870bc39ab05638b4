/**
 * The graders of exercises 1 and 2, run as a student runs them (grade.ts, the shop's store contract
 * in a child process): the shop's own stores pass, each deliberately broken store fails for the
 * right reason — in the words a student reads — and the start files load but do not pass yet.
 * Exercises 3 and 4 (Redis, PostgreSQL): exercise-redis-grader.test.ts, exercise-postgres-grader.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../test/harness.ts";
import { exercises, startFile } from "./exercises.ts";
import { gradeExercise } from "./grade.ts";

const here = import.meta.dirname;
const failedShorts = (r: Awaited<ReturnType<typeof gradeExercise>>) => r.failed.map((g) => g.property?.short ?? g.test);

describe("exercise 1: a memory store with expiry and a sweeper", () => {
  it("the shop's own memory store passes, and the grader lists every property it proved", async () => {
    const r = await gradeExercise(1, path.join(here, "reference/memory.ts"));
    assert.equal(r.passed, true, r.report);
    assert.equal(r.proven.length, 15);
    assert.match(r.report, /PASSED: all 15 properties of the shop's store contract hold/);
    assert.match(r.report, /✓ a session is dead from its expiresAt on/);
    assert.match(r.report, /SESSION_STORE=\.\/src\/exercises\/reference\/memory\.ts npm start/);
  });

  it("a store whose get ignores expiry fails on expiry, and is told which read served the dead session", async () => {
    const r = await gradeExercise(1, path.join(here, "broken/01-memory-no-expiry.ts"));
    assert.equal(r.passed, false);
    assert.deepEqual(failedShorts(r), ["expiry", "no resurrection", "peek"]);
    assert.match(r.report, /✗ Expiry: NOT YET/);
    assert.match(r.report, /At T\+1000 ms, its expiresAt, get still returned the session/);
    // The resurrection test fails through the same get, and the grader says so instead of blaming update.
    assert.match(r.report, /update left the expired session alone, but get then returned it anyway/);
    assert.match(r.report, /At T\+5000, 4 s after the session expired, get still returned it/);
    assert.match(r.report, /Read: docs\/how-sessions-work\.md#3-browsing-with-a-session-load-and-the-occasional-touch/);
    assert.match(r.report, /NOT YET: 12 of 15 properties hold/);
  });
});

describe("exercise 2: an SQLite store, atomic change, no resurrection", () => {
  it("the shop's own SQLite store, as the shop composes it, passes", async () => {
    const r = await gradeExercise(2, path.join(here, "reference/sqlite.ts"));
    assert.equal(r.passed, true, r.report);
    assert.equal(r.proven.length, 15);
  });

  it("a store whose update is an upsert fails on resurrection alone: the signed-out session lived again", async () => {
    const r = await gradeExercise(2, path.join(here, "broken/02-sqlite-upsert.ts"));
    assert.deepEqual(failedShorts(r), ["no resurrection"]);
    assert.match(r.report, /✗ No resurrection: NOT YET/);
    assert.match(r.report, /did not return null: it wrote the record back — the signed-out session lived again/);
    assert.match(r.report, /a slow “add to cart” finishing after “Sign out” would bring the signed-out session back/);
    assert.match(r.report, /Read: docs\/how-sessions-work\.md#6-signing-out-destroyed-not-just-forgotten/);
    assert.match(r.report, /✓ two changes at once both land/, "atomic, so no add was lost");
  });
});

describe("every exercise's start file", () => {
  for (const e of exercises.filter((x) => x.needs === "nothing" || x.needs === "sqlite")) {
    it(`exercise ${e.number}'s start loads and fails the grader, naming the TODO to write`, async () => {
      const r = await gradeExercise(e.number, startFile(e));
      assert.deepEqual(r.problems, [], r.report);
      assert.equal(r.passed, false);
      assert.match(r.report, /your store threw “TODO \d: /);
      assert.ok(fs.existsSync(path.join(path.dirname(startFile(e)), "README.md")), "each exercise has its README");
    });
  }
});

describe("the grader on a file that is not a store yet", () => {
  it("says createStore is missing instead of failing fifteen properties", async () => {
    const dir = tempDir("exercise-empty-");
    const file = path.join(dir, "mine.ts");
    fs.writeFileSync(file, "export const nothing = 1;\n");
    const r = await gradeExercise(1, file);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.passed, false);
    assert.match(r.report, /Your store could not be tried:/);
    assert.match(r.report, /must export a function createStore\(deps\)/);
  });
});
