/**
 * The memory each of the session layer's caches holds when full (issue 29, item 2), in bytes per
 * entry: for an ordinary shopper (a three-line cart) and for the largest cart the shop allows
 * (60 lines, each with a 200-character gift note). Figures for docs/performance.md.
 *
 *   node --expose-gc bench/cache-memory.ts [entries]     default 10,000
 *
 * Each cache is filled through its own interface with `entries` distinct shoppers; measured is what
 * is still reachable after a full collection (heapUsed + external, which includes arrayBuffers).
 */
import { setImmediate as turn } from "node:timers/promises";
import { MAX_LINES, MAX_NOTE_LENGTH } from "../src/cart/cart.ts";
import { hashSessionId, newSessionId } from "../src/session/id.ts";
import { sealFor } from "../src/session/seal.ts";
import { createCookieVerifier } from "../src/session/speed/remembered-cookie.ts";
import { createRememberedSeals } from "../src/session/speed/remembered-seals.ts";
import type { SessionData } from "../src/session/types.ts";

const N = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const reachable = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await turn();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const carts: Record<string, SessionData> = {
  ordinary: { cart: [1, 7, 12].map((productId) => ({ productId, quantity: 2 })) },
  largest: {
    cart: Array.from({ length: MAX_LINES }, (_, i) => ({
      productId: i + 1,
      quantity: 10,
      note: "Happy birthday, with love from all of us! ".repeat(5).slice(0, MAX_NOTE_LENGTH),
    })),
  },
};

/** Bytes per entry: what `fill` leaves reachable, divided by N. `keep` holds what the cache holds. */
async function perEntry(fill: () => Promise<unknown> | unknown): Promise<number> {
  const before = await reachable();
  const kept = await fill();
  const after = await reachable();
  if (kept === undefined) throw new Error("nothing kept");
  return Math.round((after - before) / N);
}

// The shoppers, made before measuring: their IDs and sealed records are not the caches' memory.
const shoppers = Array.from({ length: N }, () => {
  const id = newSessionId();
  return { id, key: hashSessionId(id) };
});
const results: Record<string, Record<string, number>> = {};
const record = (cache: string, name: string, bytes: number) => {
  results[cache] = { ...results[cache], [name]: bytes };
};

{
  const verifier = createCookieVerifier(["cache-memory-secret-0123456789abcdef"], N);
  const cookies = shoppers.map(({ id }) => verifier.sign(id)); // signed outside the measured part
  const fresh = createCookieVerifier(["cache-memory-secret-0123456789abcdef"], N);
  const bytes = await perEntry(() => {
    for (const cookie of cookies) {
      const verified = fresh.verify(cookie);
      if (verified) fresh.keyOf(verified.id);
    }
    return fresh;
  });
  record("remembered cookie (verified + signed + hashes)", "any", bytes);
}

for (const [name, cart] of Object.entries(carts)) {
  const texts = shoppers.map(({ id, key }) => (sealFor(id, key).seal(cart) as { sealed: string }).sealed);
  const seals = createRememberedSeals({ max: N });
  const bytes = await perEntry(() => {
    shoppers.forEach(({ id, key }, i) => {
      seals(id, key).open({ sealed: texts[i]! });
    });
    return seals;
  });
  record("remembered seals (key + last opened record)", name, bytes);
  record("sealed text of the record (one string)", name, texts[0]!.length);
}

console.log(`bytes per entry, ${N} entries each`);
for (const [cache, figures] of Object.entries(results)) console.log(`  ${cache.padEnd(48)} ${JSON.stringify(figures)}`);
console.log(JSON.stringify({ node: process.version, entries: N, bytesPerEntry: results }));
