/**
 * SESSION_STORE=./path/to/store.ts: the shop runs on a store a student wrote (the graded exercises).
 *
 * Before serving, the store must pass the same grader the exercises use (grade.ts: the shop's store
 * contract, in a child process, on fresh stores — never on the shop's own data). A store that breaks
 * a property stops the start with the grader's words: a shop that loses carts or revives signed-out
 * sessions would teach the wrong lesson without anyone noticing. The check costs a few seconds at
 * start (2–6 s measured on two loaded cores), once.
 *
 * The store then gets what the grader gave it, from the shop: the shop's SQLite database (its table
 * lives beside the shop's), Redis at REDIS_URL and PostgreSQL at DATABASE_URL (each connected only if
 * the store asks), a prefix of its own.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { createClient } from "redis";
import type { Config } from "../config.ts";
import type { Db } from "../db/open.ts";
import type { ServerStore } from "../session/directory.ts";
import type { RedisClient } from "../session/stores/redis-store.ts";
import { StudentStoreError } from "./errors.ts";
import { type CreateStore, exercises } from "./exercises.ts";
import { gradeExercise } from "./grade.ts";

const METHODS = ["get", "peek", "create", "update", "rekey", "touch", "destroy", "deleteExpired", "listByUser", "destroyForUser", "listAll", "stats"] as const;

export async function loadStudentStore(
  config: Pick<Config, "studentStorePath" | "redisUrl" | "databaseUrl">,
  { db, log }: { db: Db; log?: { info(obj: object, msg: string): void } },
): Promise<ServerStore & { close(): Promise<void> }> {
  const file = config.studentStorePath;
  if (!file) throw new StudentStoreError("SESSION_STORE does not name a store module");
  const shown = `SESSION_STORE=./${path.relative(process.cwd(), file)}`;
  let createStore: CreateStore | undefined;
  try {
    createStore = ((await import(pathToFileURL(file).href)) as { createStore?: CreateStore }).createStore;
  } catch (error) {
    throw new StudentStoreError(`${shown}: the module does not load: ${(error as Error).message}`);
  }
  if (typeof createStore !== "function") throw new StudentStoreError(`${shown}: the module must export createStore(deps) (see exercises/README.md)`);

  let redis: Promise<RedisClient> | undefined;
  const connectRedis = () =>
    (redis ??= (async () => {
      const client: RedisClient = createClient({ url: config.redisUrl });
      await client.connect();
      return client;
    })());
  let postgres: Promise<{ pool: pg.Pool; url: string; options: string }> | undefined;
  const connectPostgres = () =>
    (postgres ??= (async () => {
      const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
      await pool.query("SELECT 1"); // reachable now, or the start says so
      return { pool, url: config.databaseUrl, options: "" };
    })());
  const close = async () => {
    if (redis) await (await redis).close();
    if (postgres) await (await postgres).pool.end();
  };
  let store: ServerStore;
  try {
    store = await createStore({ db, connectRedis, connectPostgres, prefix: "student:" });
  } catch (error) {
    await close().catch(() => undefined);
    throw new StudentStoreError(`${shown}: createStore failed: ${(error as Error).message}`);
  }

  // The exercise whose grader fits this kind of store (Redis's own TTL changes one property's test).
  const exercise = exercises.find((e) => e.kind === store.kind) ?? exercises[0]!;
  const graded = await gradeExercise(exercise.number, file, { redisUrl: config.redisUrl, postgresUrl: config.databaseUrl });
  if (!graded.passed) {
    await close().catch(() => undefined);
    const broken = graded.problems.length > 0 ? graded.problems.map((p) => `  ${p.split("\n")[0]}`) : graded.failed.map((g) => `  ✗ ${said(g)}`);
    throw new StudentStoreError(
      `${shown}: this store breaks the session contract, so the shop will not serve on it.\n${broken.join("\n")}\n` +
        `The full report: npm run exercise -- ${exercise.number} ./${path.relative(process.cwd(), file)}`,
    );
  }
  log?.info({ store: path.relative(process.cwd(), file), properties: graded.proven.length, ms: graded.ms }, "the student's store passed the contract");

  // The student's methods, under the technique "student" (the X-ray and the dashboard say "Your store").
  const wrapped = Object.fromEntries(METHODS.map((name) => [name, (...args: unknown[]) => (store[name] as (...a: unknown[]) => unknown)(...args)]));
  return { ...(wrapped as Omit<ServerStore, "kind">), kind: "student", close };
}

function said(g: Awaited<ReturnType<typeof gradeExercise>>["failed"][number]): string {
  const p = g.property;
  const told = g.failure && p?.told?.(g.failure);
  const what = told ?? (g.failure?.threw ? `your store threw “${g.failure.message.split("\n")[0]}”` : g.failure?.message.split("\n")[0]);
  return `${p ? p.short : g.test}: ${what}${p ? ` (read ${p.lesson})` : ""}`;
}
