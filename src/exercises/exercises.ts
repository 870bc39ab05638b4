/**
 * The graded exercises (npm run exercise): students write a session store, and the shop's own store
 * contract (src/test/store-contract.ts) grades it — the very suite the memory, SQLite, Redis and
 * PostgreSQL stores pass. Nothing here re-states the contract: a store that passes an exercise
 * passes what the shop's stores pass.
 *
 * What each exercise's store is given (`StoreDeps`) is the same shape the running shop gives a
 * student's store (SESSION_STORE=./file.ts, student-store.ts), so the file that passed the grader is
 * the file the shop runs.
 */
import path from "node:path";
import type pg from "pg";
import type { Db } from "../db/open.ts";
import type { ServerStore } from "../session/directory.ts";
import type { RedisClient } from "../session/stores/redis-store.ts";

/** What a student's store may use. Each exercise's start.ts takes only the part it needs. */
export interface StoreDeps {
  /** An SQLite database of its own (the grader: a fresh file per store; the shop: the shop's own file). */
  db: Db;
  /** A connected Redis client (shared: keep to your prefix). Async: only a store that uses Redis connects. */
  connectRedis: () => Promise<RedisClient>;
  /**
   * A PostgreSQL pool whose connections work in a schema of their own (the grader: a fresh schema per
   * store; the shop: DATABASE_URL as it is), with the URL and connection options that give it.
   */
  connectPostgres: () => Promise<{ pool: pg.Pool; url: string; options: string }>;
  /** Put every Redis key under this prefix: the grader gives each store a prefix of its own. */
  prefix: string;
}

/** A student's store module exports this. It may be async (a Redis store that connects first). */
export type CreateStore = (deps: StoreDeps) => ServerStore | Promise<ServerStore>;

export interface Exercise {
  readonly number: number;
  readonly slug: string;
  readonly title: string;
  /** What the store needs from the grader: nothing, an SQLite file, a Redis or a PostgreSQL server. */
  readonly needs: "nothing" | "sqlite" | "redis" | "postgres";
  /** The `kind` the contract treats the store as (Redis's own TTL removes expired keys: no sweep to test). */
  readonly kind: ServerStore["kind"];
  /** The lesson it builds on, relative to the repository root (a link with its anchor). */
  readonly lessons: readonly { title: string; link: string }[];
}

export const exercises: readonly Exercise[] = [
  {
    number: 1,
    slug: "01-memory-store",
    title: "A memory store with expiry and a sweeper",
    needs: "nothing",
    kind: "memory",
    lessons: [
      {
        title: "How sessions work §3: load, and the occasional touch",
        link: "docs/how-sessions-work.md#3-browsing-with-a-session-load-and-the-occasional-touch",
      },
      { title: "How sessions work §7: cleaning up", link: "docs/how-sessions-work.md#7-cleaning-up" },
      { title: "Lab 7: expiry and cleanup", link: "docs/teaching/lab-7-expiry-cleanup.md" },
    ],
  },
  {
    number: 2,
    slug: "02-sqlite-store",
    title: "An SQLite store: atomic change, no resurrection",
    needs: "sqlite",
    kind: "sqlite",
    lessons: [
      { title: "How sessions work §4: two tabs at once, why “change”, not “save”", link: "docs/how-sessions-work.md#4-two-tabs-at-once-why-change-not-save" },
      {
        title: "How sessions work §6: signing out, destroyed, not just forgotten",
        link: "docs/how-sessions-work.md#6-signing-out-destroyed-not-just-forgotten",
      },
      { title: "Lab 12: the lost update", link: "docs/teaching/lab-12-lost-update.md" },
      { title: "Lab 6: logout done right and wrong", link: "docs/teaching/lab-6-logout.md" },
    ],
  },
  {
    number: 3,
    slug: "03-redis-store",
    title: "A store on a server many shops share: Redis",
    needs: "redis",
    kind: "redis",
    lessons: [
      { title: "Lab 9: scale-out, one shop, three servers", link: "docs/teaching/lab-9-scale-out.md" },
      { title: "How sessions work §8: the same walk with the other techniques", link: "docs/how-sessions-work.md#8-the-same-walk-with-the-other-techniques" },
      { title: "How sessions work §4: two tabs at once", link: "docs/how-sessions-work.md#4-two-tabs-at-once-why-change-not-save" },
    ],
  },
  {
    number: 4,
    slug: "04-postgres-store",
    title: "A store on a database many shops share: PostgreSQL",
    needs: "postgres",
    kind: "postgres",
    lessons: [
      { title: "Lab 12: the lost update", link: "docs/teaching/lab-12-lost-update.md" },
      { title: "How sessions work §4: two tabs at once", link: "docs/how-sessions-work.md#4-two-tabs-at-once-why-change-not-save" },
      { title: "Lab 9: scale-out, one shop, three servers", link: "docs/teaching/lab-9-scale-out.md" },
    ],
  },
];

export const exerciseRoot = path.resolve(import.meta.dirname, "../../exercises");

export function findExercise(n: number): Exercise | undefined {
  return exercises.find((e) => e.number === n);
}

/** exercises/NN-name/start.ts: what the student edits, and what the grader reads when no file is named. */
export const startFile = (e: Exercise) => path.join(exerciseRoot, e.slug, "start.ts");
