/**
 * The common mistakes in docs/teaching/exercises.md, each made on purpose to the shop's own memory
 * store (one method replaced), and what the grader answers: the guide quotes these words, and this
 * test keeps the guide honest.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../test/harness.ts";
import { gradeExercise } from "./grade.ts";

const dir = tempDir("exercise-mistakes-");
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const memoryStore = path.join(import.meta.dirname, "../session/stores/memory-store.ts");

/** A module whose store is the shop's memory store with `override` in place of one method. */
function mistake(name: string, override: string): string {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(
    file,
    `import { createMemoryStore } from ${JSON.stringify(memoryStore)};
export function createStore() {
  const base = createMemoryStore();
  const kept = new Map();
  return { ...base, ${override} };
}
`,
  );
  return file;
}

const cases = [
  {
    what: "a live check with >= keeps a session alive at its expiresAt",
    override: "async get(key, now) { const r = await base.peek(key); return r && r.expiresAt >= now ? r : null; }",
    fails: ["expiry"],
    says: /At T\+1000 ms, its expiresAt, get still returned the session/,
  },
  {
    what: "a sweeper with no limit",
    override: "async deleteExpired(now) { return base.deleteExpired(now, Number.POSITIVE_INFINITY); }",
    fails: ["the sweeper"],
    says: /One sweep removed 25 sessions where 10 were due: it ignored the limit/,
  },
  {
    what: "a create that overwrites a taken key",
    override: "async create(key, session) { await base.destroy(key); await base.create(key, session); }",
    fails: ["create refuses a taken key"],
    says: /The second create succeeded: it overwrote the first session instead of throwing/,
  },
  {
    what: "an await between the read and the write",
    override:
      "async update(key, now, change) { const current = await base.get(key, now); if (!current) return null; const next = change(current); return base.update(key, now, () => next); }",
    fails: ["no lost update"],
    says: /The cart ended with products 1, 4: 2 of the 3 adds were lost — a request read the cart before another had written it/,
  },
  {
    what: "a touch that also moves a session backwards",
    override: "async touch(key, lastSeenAt, expiresAt) { return (await base.update(key, 0, (s) => ({ ...s, lastSeenAt, expiresAt }))) !== null; }",
    fails: ["touch"],
    says: /What went wrong: an older touch arriving late is ignored/,
  },
  {
    what: "a get that hands out the stored object itself",
    override:
      "async create(key, session) { await base.create(key, session); kept.set(key, session); }, async get(key, now) { return (await base.get(key, now)) ? (kept.get(key) ?? null) : null; }",
    fails: ["copies, not the stored object"],
    says: /get handed out the stored object itself/,
    // This crude wrapper keeps a second copy beside the store's own, so later updates look lost too:
    // only the first failure is the mistake's.
    firstOnly: true,
  },
];

describe("the common mistakes of docs/teaching/exercises.md, graded", () => {
  for (const c of cases) {
    it(`${c.what}: the grader names that property and says what broke it`, async () => {
      const r = await gradeExercise(1, mistake(c.fails[0]!.replaceAll(" ", "-"), c.override));
      const failed = r.failed.map((g) => g.property?.short);
      assert.deepEqual("firstOnly" in c ? failed.slice(0, 1) : failed, c.fails, r.report);
      assert.match(r.report, c.says);
    });
  }
});
