/**
 * What a test can measure of this process's memory: the bytes still reachable after full
 * collections, for tests that bound what a cache may hold (issue 29).
 */
import { setImmediate as turn } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";

// A full collection on demand (what `node --expose-gc` gives), so a figure counts only what is still reachable.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** The JavaScript heap and the Buffer memory (`external` includes `arrayBuffers`) still reachable, in bytes. */
export async function reachableBytes(): Promise<{ heapUsed: number; arrayBuffers: number; total: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await turn(); // freed backing stores are released after the collection, not during it
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, total: m.heapUsed + m.external };
}
