import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import { createManualClock } from "../clock.ts";
import { freshDatabase, root } from "../test/harness.ts";
import { nextBatchSize, startSessionCleanup, sweepExpired } from "./cleanup.ts";
import { createSqliteSessionStore } from "./technique.ts";

let env: ReturnType<typeof freshDatabase>;
beforeEach(() => {
  env = freshDatabase();
});
afterEach(() => {
  if (env.db.open) env.db.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
});

/** Insert n rows expiring at `expiresAt`, with keys tagged by `tag` for later checks. */
function seedRows(n: number, expiresAt: number, tag: string) {
  const insert = env.db.prepare("INSERT INTO sessions VALUES (?, '{\"cart\":[]}', NULL, ?, ?, ?, NULL)");
  env.db
    .transaction(() => {
      for (let i = 0; i < n; i++) insert.run(`${tag}-${i}`, expiresAt - 1000, expiresAt - 1000, expiresAt);
    })
    .immediate();
}
const count = (like = "%") => (env.db.prepare("SELECT count(*) AS n FROM sessions WHERE id_hash LIKE ?").get(like) as { n: number }).n;

describe("session cleanup", () => {
  it("removes exactly the expired rows, in batches", async () => {
    const now = Date.now();
    seedRows(2500, now - 1, "dead");
    seedRows(10, now, "edge"); // expires_at == now counts as expired
    seedRows(300, now + 1, "live");
    // batchMs: Infinity keeps the size fixed, so the batches can be counted.
    const result = await sweepExpired(createSqliteSessionStore(env.db), now, { batchSize: 1000, batchMs: Number.POSITIVE_INFINITY, maxShare: 0.25 });
    assert.equal(result.removed, 2510);
    assert.equal(result.batches, 3, "two full batches of 1,000 and a partial one of 510");
    assert.equal(count("dead-%"), 0);
    assert.equal(count("edge-%"), 0);
    assert.equal(count("live-%"), 300);
  });

  it("sizes batches by time: slow rows shrink the batch (at most halving per step), fast rows grow it (at most doubling), within 10..5000", () => {
    assert.equal(nextBatchSize(500, 40, 5), 250, "a 40 ms batch of 500 halves, not to 62 at once");
    assert.equal(nextBatchSize(250, 6, 5), 208, "close to the target: proportional");
    assert.equal(nextBatchSize(200, 1, 5), 400, "a fast batch doubles, not ×5 at once");
    assert.equal(nextBatchSize(200, 0, 5), 400, "a batch too fast to time doubles");
    assert.equal(nextBatchSize(12, 100, 5), 10, "never below 10 rows: the sweep always makes progress");
    assert.equal(nextBatchSize(4000, 0.5, 5), 5000, "never above 5,000 rows");
  });

  it("removes every expired row whatever the batch sizes it picks on the way", async () => {
    const now = Date.now();
    seedRows(3000, now - 1, "dead");
    seedRows(50, now + 1, "live");
    // A tiny time budget forces the sweep down to small batches and back: nothing may be skipped.
    const result = await sweepExpired(createSqliteSessionStore(env.db), now, { batchSize: 700, batchMs: 0.05 });
    assert.equal(result.removed, 3000);
    assert.ok(result.batches > 5, `it worked in many small batches (${result.batches})`);
    assert.equal(count("dead-%"), 0);
    assert.equal(count("live-%"), 50);
  });

  it("runs at start-up, then on its timer (interval ±10% jitter), and stops cleanly", async (t) => {
    // The timer is the point here: mocked timers move it, no real waiting.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const clock = createManualClock();
    const intervalMs = 60_000;
    seedRows(5, clock.now() - 1, "old");
    const sweeps: number[] = [];
    let swept: () => void = () => {};
    const job = startSessionCleanup({
      store: createSqliteSessionStore(env.db),
      clock,
      intervalMs,
      onSweep: (r) => {
        sweeps.push(r.removed);
        swept();
      },
    });
    await job.firstRun;
    assert.deepEqual(sweeps, [5], "the start-up sweep removed the backlog and reported it");
    seedRows(3, clock.now() + 1000, "later");
    clock.advance(2000);
    // A real turn of the event loop lets any sweep the timer started finish (the store is synchronous underneath).
    const settle = () => new Promise((r) => setImmediate(r));
    t.mock.timers.tick(intervalMs * 0.9 - 1);
    await settle();
    assert.deepEqual(sweeps, [5], "no second sweep before 90% of the interval");
    const next = new Promise<void>((r) => (swept = r));
    t.mock.timers.tick(intervalMs * 0.2 + 2);
    await next;
    assert.deepEqual(sweeps, [5, 3], "the timer swept again, by 110% of the interval, once those rows expired");
    await job.stop();
    seedRows(2, clock.now() - 1, "after-stop");
    t.mock.timers.tick(intervalMs * 10);
    await settle();
    assert.equal(count("after-stop-%"), 2, "a stopped job does nothing more");
    assert.deepEqual(sweeps, [5, 3]);
  });

  it("its timer does not keep the process alive", async () => {
    const script = `
      import { startSessionCleanup } from "./src/session/cleanup.ts";
      import { createMemoryStore } from "./src/session/stores/memory-store.ts";
      startSessionCleanup({ store: createMemoryStore(), clock: { now: Date.now }, intervalMs: 60_000 });
      console.log("started");`;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: root, timeout: 20_000 });
    assert.equal(stdout.trim(), "started");
    assert.ok(Date.now() - started < 15_000, "exited without waiting a minute for the timer");
  });

  it("reports a failed sweep instead of crashing, and keeps going", async () => {
    const errors: unknown[] = [];
    const store = createSqliteSessionStore(env.db);
    env.db.close(); // every query now throws
    const job = startSessionCleanup({ store, clock: createManualClock(), intervalMs: 60_000, onError: (e) => errors.push(e) });
    assert.equal(await job.firstRun, undefined);
    assert.equal(errors.length, 1);
    await job.stop();
  });
});
