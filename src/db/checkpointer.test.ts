import assert from "node:assert/strict";
import fs from "node:fs";
import { afterEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freshDatabase } from "../test/harness.ts";
import { startCheckpointer } from "./checkpointer.ts";

let env: ReturnType<typeof freshDatabase>;
afterEach(() => {
  if (env.db.open) env.db.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
});

const autocheckpoint = () => (env.db.pragma("wal_autocheckpoint", { simple: true }) as number) ?? -1;

describe("WAL checkpoints off the event loop", () => {
  it("the serving connection never checkpoints; the worker thread copies the WAL back into the database file", async () => {
    env = freshDatabase();
    const checkpointer = startCheckpointer(env.db, { intervalMs: 20 })!;
    await checkpointer.ready;
    assert.equal(autocheckpoint(), 0, "SQLite's checkpoint inside a commit is off");
    const before = fs.statSync(env.file).size;
    env.db.exec("CREATE TABLE filler (x BLOB)");
    const insert = env.db.prepare("INSERT INTO filler VALUES (randomblob(4000))");
    env.db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(); // ~8 MB: eight times SQLite's own checkpoint threshold
    })();
    assert.ok(fs.statSync(env.file).size - before < 1_000_000, "the commit itself copied nothing into the database file");
    // A real wait for a real thread: the worker checkpoints every 20 ms.
    for (let i = 0; i < 250 && fs.statSync(env.file).size - before < 8_000_000; i++) await sleep(20);
    assert.ok(fs.statSync(env.file).size - before >= 8_000_000, "the worker copied the pages into the database file");
    await checkpointer.stop();
    assert.equal(autocheckpoint(), 1000, "after stop() the connection checkpoints by itself again");
  });

  it("after a burst of writes (a flood) the WAL is back under journal_size_limit within seconds, with nothing else written", async () => {
    env = freshDatabase();
    const checkpointer = startCheckpointer(env.db, { intervalMs: 50 })!;
    await checkpointer.ready;
    const limit = env.db.pragma("journal_size_limit", { simple: true }) as number;
    const wal = () => fs.statSync(`${env.file}-wal`).size;
    env.db.exec("CREATE TABLE filler (x BLOB)");
    const insert = env.db.prepare("INSERT INTO filler VALUES (randomblob(1000000))");
    // Many commits, as a flood makes them: the WAL outgrows the limit while the worker copies behind it.
    for (let i = 0; i < 100; i++) insert.run();
    assert.ok(wal() > limit, `the WAL grew past the limit (${(wal() / 1e6).toFixed(0)} MB)`);
    const ended = performance.now();
    // A real wait for a real thread; the promise is "within seconds" of the last write.
    while (wal() > limit && performance.now() - ended < 5_000) await sleep(50);
    assert.ok(wal() <= limit, `the WAL is ${(wal() / 1e6).toFixed(0)} MB 5 s after the burst; the limit is ${(limit / 1e6).toFixed(0)} MB`);
    assert.equal((env.db.prepare("SELECT count(*) AS n FROM filler").get() as { n: number }).n, 100, "nothing lost");
    await checkpointer.stop();
  });

  it("if the worker cannot run, the connection goes back to checkpointing by itself, and says so", async () => {
    env = freshDatabase();
    fs.rmSync(env.file); // the open connection keeps working; the worker cannot open the file
    const errors: Error[] = [];
    const checkpointer = startCheckpointer(env.db, { intervalMs: 20, onError: (e) => errors.push(e) })!;
    await checkpointer.ready;
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20); // the worker's failure arrives as an event
    assert.ok(errors.length > 0, "the failure was reported");
    assert.equal(autocheckpoint(), 1000, "the WAL cannot grow without bound");
    await checkpointer.stop();
  });

  it("an in-memory database needs none", () => {
    env = freshDatabase();
    const memory = new (env.db.constructor as new (f: string) => typeof env.db)(":memory:");
    assert.equal(startCheckpointer(memory), null);
    memory.close();
  });
});
