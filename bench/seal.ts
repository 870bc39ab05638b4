/**
 * node bench/seal.ts — what sealing session data at rest (src/session/seal.ts) costs per read and
 * per write, in microseconds, on this machine.
 *
 * 1. The functions alone: derive the key (HKDF-SHA256) and seal, derive and open, for a typical
 *    cart (3 lines) and a large one (16 lines with long gift notes, about 3 KB of JSON), beside
 *    what the store did before (JSON.stringify / JSON.parse) and the sha256 of the lookup.
 * 2. The real write path: store.update(key, change) on the SQLite store (a real file, one
 *    transaction per call, group commit), with the change sealing and opening versus plain JSON.
 *
 * Prints a table and writes bench/results/seal.json. Each figure is CPU time (user + system) per call,
 * the median of 7 rounds: on a shared machine wall time mostly measures the neighbours.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashSessionId, newSessionId } from "../src/session/id.ts";
import { sealFor } from "../src/session/seal.ts";
import { createSqliteSessionStore } from "../src/session/technique.ts";
import type { SessionData, StoredSession } from "../src/session/types.ts";
import { freshDatabase } from "../src/test/harness.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = 7;
const NOTE = "Happy birthday! With love from all of us at the office. We hope this brightens your mornings for years to come, and that you think of us.";
const carts: Record<string, SessionData> = {
  "typical (3 lines)": { cart: [1, 2, 3].map((productId) => ({ productId, quantity: 1 + (productId % 3) })) },
  "large (16 lines, notes)": { cart: Array.from({ length: 16 }, (_, i) => ({ productId: i + 1, quantity: 2, note: NOTE })) },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * CPU µs per call of `fn` (this process's user + system time, so that other processes on a shared
 * machine inflate it less than wall time), the median of ROUNDS rounds of `n` calls after a warm-up.
 */
function perCall(n: number, fn: (i: number) => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const used = process.cpuUsage(t);
    if (r > 0) rounds.push((used.user + used.system) / n);
  }
  return median(rounds);
}

const ids = Array.from({ length: 1000 }, newSessionId);
const keys = ids.map(hashSessionId);
const results: Record<string, Record<string, number>> = {};

for (const [name, data] of Object.entries(carts)) {
  const sealed = ids.map((id, i) => sealFor(id, keys[i]!).seal(data));
  const json = JSON.stringify(data);
  results[name] = {
    bytesPlain: Buffer.byteLength(json),
    bytesSealed: Buffer.byteLength(JSON.stringify(sealed[0])),
    "write: sealFor + seal": perCall(5000, (i) => sealFor(ids[i % 1000]!, keys[i % 1000]!).seal(data)),
    "read: sealFor + open": perCall(5000, (i) => sealFor(ids[i % 1000]!, keys[i % 1000]!).open(sealed[i % 1000]!)),
    "before: JSON.stringify": perCall(5000, () => JSON.stringify(data)),
    "before: JSON.parse": perCall(5000, () => JSON.parse(json)),
    "lookup: sha256(ID)": perCall(5000, (i) => hashSessionId(ids[i % 1000]!)),
  };
}

// The write path for real: one SQLite transaction per update, the change sealing or not.
const { db, dir } = freshDatabase();
const store = createSqliteSessionStore(db);
const now = Date.now();
const record = (data: StoredSession["data"]): StoredSession => ({
  data,
  userId: null,
  createdAt: now,
  lastSeenAt: now,
  expiresAt: now + 3_600_000,
  userAgent: null,
});
const plainData = carts["typical (3 lines)"]!;
for (let i = 0; i < 1000; i++) await store.create(keys[i]!, record(sealFor(ids[i]!, keys[i]!).seal(plainData)));
const plainKeys = Array.from({ length: 1000 }, () => hashSessionId(newSessionId()));
for (const k of plainKeys) await store.create(k, record(plainData));

async function updatesPerCall(sealed: boolean): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < 1000; i++) {
      if (sealed) {
        const seal = sealFor(ids[i]!, keys[i]!);
        await store.update(keys[i]!, now, (s) => ({ ...s, data: seal.seal({ cart: [...seal.open(s.data)!.cart] }) }));
      } else {
        await store.update(plainKeys[i]!, now, (s) => ({ ...s, data: { cart: [...(s.data as SessionData).cart] } }));
      }
    }
    const used = process.cpuUsage(t);
    if (r > 0) rounds.push((used.user + used.system) / 1000);
  }
  return median(rounds);
}
const updatePlain = await updatesPerCall(false);
const updateSealed = await updatesPerCall(true);
db.close();
fs.rmSync(dir, { recursive: true, force: true });

const round1 = (x: number) => Math.round(x * 10) / 10;
console.log(
  `Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores, median CPU µs per call of ${ROUNDS} rounds\n`,
);
for (const [name, r] of Object.entries(results)) {
  console.log(`${name}: ${r.bytesPlain} B of JSON → ${r.bytesSealed} B sealed`);
  for (const [op, us] of Object.entries(r)) if (!op.startsWith("bytes")) console.log(`  ${op.padEnd(26)} ${round1(us).toFixed(1).padStart(7)} µs`);
}
console.log("\nSQLite store.update (one transaction, typical cart):");
console.log(`  plain JSON                 ${round1(updatePlain).toFixed(1).padStart(7)} µs`);
console.log(`  open + seal inside         ${round1(updateSealed).toFixed(1).padStart(7)} µs  (+${round1(updateSealed - updatePlain)} µs)`);

fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(
  path.join(root, "bench/results/seal.json"),
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), loadAverage: os.loadavg()[0], cores: os.availableParallelism(), unit: "CPU µs per call", functions: results, sqliteUpdate: { plainUs: updatePlain, sealedUs: updateSealed } }, null, 2)}\n`,
);
