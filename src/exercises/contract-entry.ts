/**
 * Runs in the grader's child process (node:test's run(), grade.ts): the shop's store contract,
 * unchanged, against the student's store. A child of its own, so a student's store that crashes,
 * hangs or leaks timers cannot take the grader down with it.
 *
 * Arguments (from grade.ts): --exercise=N --file=<the student's module> [--redis=<url>] [--postgres=<url>].
 */
import { after } from "node:test";
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { createClient } from "redis";
import { openDatabase, type Db } from "../db/open.ts";
import type { RedisClient } from "../session/stores/redis-store.ts";
import { tempDir } from "../test/harness.ts";
import { storeContract } from "../test/store-contract.ts";
import { findExercise, type CreateStore, type StoreDeps } from "./exercises.ts";
import { deferred } from "./deferred.ts";

const { values: args } = parseArgs({
  options: { exercise: { type: "string" }, file: { type: "string" }, redis: { type: "string" }, postgres: { type: "string" } },
  strict: false,
});
const exercise = findExercise(Number(args.exercise));
const file = args.file;
if (!exercise || typeof file !== "string") throw new Error("contract-entry.ts runs from grade.ts, with --exercise and --file");

const loaded = (await import(pathToFileURL(file).href)) as { createStore?: CreateStore };
const createStore = loaded.createStore;
if (typeof createStore !== "function") throw new Error(`${file} must export a function createStore(deps) that returns the store`);

const closers: (() => unknown)[] = [];
// Last opened, first closed: a store before the connection or schema it runs on.
after(async () => {
  for (const close of closers.reverse()) await close();
});

// One Redis connection for the whole run; each store gets a prefix of its own, so each sees only its keys.
let redis: Promise<RedisClient> | undefined;
const connectRedis = () => {
  const url = args.redis;
  if (typeof url !== "string") throw new Error("this exercise's grader was started without a Redis server (--redis)");
  redis ??= (async () => {
    const client: RedisClient = createClient({ url });
    await client.connect();
    closers.push(async () => {
      // The contract's records expire a year ahead: on a Redis that is not throwaway (the shop's
      // self-check, REDIS_URL), remove every key this run wrote before leaving.
      for await (const keys of client.scanIterator({ MATCH: `${runPrefix}*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
      await client.close();
    });
    return client;
  })();
  return redis;
};

// Each store its own PostgreSQL schema, dropped when the run ends (the shop's self-check uses DATABASE_URL itself).
const connectPostgres = async () => {
  const url = args.postgres;
  if (typeof url !== "string") throw new Error("this exercise's grader was started without a PostgreSQL server (--postgres)");
  const schema = `grade_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const options = `-c search_path=${schema}`;
  const pool = new pg.Pool({ connectionString: url, options, max: 10 });
  closers.push(async () => {
    await pool.end();
    const dropper = new pg.Client({ connectionString: url });
    await dropper.connect();
    await dropper.query(`DROP SCHEMA ${schema} CASCADE`);
    await dropper.end();
  });
  return { pool, url, options };
};

const runPrefix = `grade:${process.pid}:`;
let stores = 0;
storeContract(`your ${exercise.kind}`, () => {
  let db: Db | undefined;
  const deps: StoreDeps = {
    // A fresh, empty SQLite file per store, made only when the store asks for it.
    get db() {
      if (!db) {
        const dir = tempDir("exercise-");
        db = openDatabase(`${dir}/sessions.sqlite`);
        const opened = db;
        closers.push(() => {
          opened.close();
          fs.rmSync(dir, { recursive: true, force: true });
        });
      }
      return db;
    },
    connectRedis,
    connectPostgres,
    prefix: `${runPrefix}${++stores}:`,
  };
  const store = createStore(deps);
  // A store that holds connections of its own (a pool) says how to let go of them: else the run
  // would wait for their idle timeouts before it could end.
  const closeStore = async () => ((await store) as { close?: () => unknown }).close?.();
  closers.push(() => closeStore().catch(() => undefined));
  return store instanceof Promise ? deferred(store, exercise.kind) : store;
});
