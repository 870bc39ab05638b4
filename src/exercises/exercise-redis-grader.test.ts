/**
 * Exercise 3's grader against a real redis-server: the shop's own Redis store passes, the store that
 * reads with GET and writes with a plain SET loses adds to cart, and the start file loads but fails.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startRedisServer } from "../test/redis-server.ts";
import { findExercise, startFile } from "./exercises.ts";
import { gradeExercise } from "./grade.ts";

const redis = await startRedisServer();
after(() => redis.close());
const here = import.meta.dirname;

describe("exercise 3: a Redis store", () => {
  it("the shop's own Redis store passes", async () => {
    const r = await gradeExercise(3, path.join(here, "reference/redis.ts"), { redisUrl: redis.url });
    assert.equal(r.passed, true, r.report);
    assert.equal(r.proven.length, 15);
  });

  it("a store that reads with GET and writes with SET fails on the lost update, told as the race that lost it", async () => {
    const r = await gradeExercise(3, path.join(here, "broken/03-redis-get-then-set.ts"), { redisUrl: redis.url });
    assert.deepEqual(
      r.failed.map((g) => g.property?.short),
      ["no lost update"],
    );
    assert.match(r.report, /What the test did: three adds to one cart at once \(products 2, 3 and 4, each its own request\)/);
    assert.match(r.report, /of the 3 adds (was|were) lost — a request read the cart before another had written it, then wrote its old copy back over it/);
    assert.match(r.report, /Read: docs\/teaching\/lab-12-lost-update\.md/);
  });

  it("the start file loads and fails, naming the TODO to write", async () => {
    const r = await gradeExercise(3, startFile(findExercise(3)!), { redisUrl: redis.url });
    assert.deepEqual(r.problems, [], r.report);
    assert.equal(r.passed, false);
    assert.match(r.report, /your store threw “TODO \d: /);
  });
});
