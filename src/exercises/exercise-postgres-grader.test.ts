/**
 * Exercise 4's grader against a real PostgreSQL cluster of this file's own: the shop's own PostgreSQL
 * store passes, the store that reads without FOR UPDATE loses adds to cart, and the start file loads
 * but fails.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startPostgresServer } from "../test/postgres-server.ts";
import { findExercise, startFile } from "./exercises.ts";
import { gradeExercise } from "./grade.ts";

const postgres = await startPostgresServer();
after(() => postgres.close());
const here = import.meta.dirname;

describe("exercise 4: a PostgreSQL store", () => {
  it("the shop's own PostgreSQL store passes", async () => {
    const r = await gradeExercise(4, path.join(here, "reference/postgres.ts"), { postgresUrl: postgres.url });
    assert.equal(r.passed, true, r.report);
    assert.equal(r.proven.length, 15);
  });

  it("a store that reads without FOR UPDATE fails on the lost update, told as the race that lost it", async () => {
    const r = await gradeExercise(4, path.join(here, "broken/04-postgres-no-lock.ts"), { postgresUrl: postgres.url });
    assert.deepEqual(
      r.failed.map((g) => g.property?.short),
      ["no lost update"],
      r.report,
    );
    assert.match(r.report, /of the 3 adds (was|were) lost — a request read the cart before another had written it, then wrote its old copy back over it/);
    assert.match(r.report, /Read: docs\/teaching\/lab-12-lost-update\.md/);
  });

  it("the start file loads and fails, naming the TODO to write", async () => {
    const r = await gradeExercise(4, startFile(findExercise(4)!), { postgresUrl: postgres.url });
    assert.deepEqual(r.problems, [], r.report);
    assert.equal(r.passed, false);
    assert.match(r.report, /your store threw “TODO \d: /);
  });
});
