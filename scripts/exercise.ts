/**
 * npm run exercise — the graded exercises: write a session store, and the shop's own store contract
 * grades it (src/exercises/grade.ts).
 *
 *   npm run exercise                    the list, with what each builds on
 *   npm run exercise -- 1               grade exercises/01-memory-store/start.ts
 *   npm run exercise -- 2 my-store.ts   grade another file against exercise 2
 *
 * Exercise 3 needs Redis: it uses REDIS_URL when set (keys under a prefix of the grader's own), or
 * starts a throwaway redis-server of its own (Debian's redis-server package). Exercise 4 likewise
 * needs PostgreSQL: DATABASE_URL (a schema of its own per store, dropped after), or a throwaway
 * cluster (Debian's postgresql package).
 * Exit code 0 when every property holds, 1 when one fails, 2 when the command itself is wrong.
 */
import path from "node:path";
import { exercises, findExercise, startFile } from "../src/exercises/exercises.ts";
import { gradeExercise } from "../src/exercises/grade.ts";
import { startPostgresServer } from "../src/test/postgres-server.ts";
import { startRedisServer } from "../src/test/redis-server.ts";

function list(): string {
  const lines = ["The exercises (docs/teaching/exercises.md for the instructor):", ""];
  for (const e of exercises) {
    lines.push(`  ${e.number}. ${e.title}`);
    lines.push(`     start: ${path.relative(process.cwd(), startFile(e))}   (exercises/${e.slug}/README.md says what to build)`);
    lines.push(`     builds on: ${e.lessons.map((l) => l.link).join(", ")}`);
  }
  lines.push("", "Grade one: npm run exercise -- <number> [your file]");
  return lines.join("\n");
}

if (import.meta.main) {
  const [which, file] = process.argv.slice(2);
  if (which === undefined) {
    console.log(list());
    process.exit(0);
  }
  const exercise = findExercise(Number(which));
  if (!exercise) {
    console.error(`There is no exercise "${which}".\n\n${list()}`);
    process.exit(2);
  }
  let redisUrl = process.env.REDIS_URL;
  let postgresUrl = process.env.DATABASE_URL;
  let stopServer = async () => {};
  if (exercise.needs === "redis" && !redisUrl) {
    const redis = await startRedisServer();
    redisUrl = redis.url;
    stopServer = () => redis.close();
  }
  if (exercise.needs === "postgres" && !postgresUrl) {
    const postgres = await startPostgresServer();
    postgresUrl = postgres.url;
    stopServer = () => postgres.close();
  }
  try {
    const result = await gradeExercise(exercise.number, file, { redisUrl, postgresUrl });
    console.log(result.report);
    process.exitCode = result.passed ? 0 : 1;
  } finally {
    await stopServer();
  }
}
