/**
 * Loaded into the server by bench/soak.ts (`node --import ./bench/lib/memory-probe.ts src/server.ts`),
 * never by the shop itself: nothing of it runs unless a bench asks for it.
 *
 * Every MEMORY_PROBE_MS (default 5,000) it writes one line to stderr with process.memoryUsage()
 * (numbers only: nothing about requests, sessions or cookies), so the soak can tell the JavaScript
 * heap from Buffer memory (`arrayBuffers`) and from what neither explains (RSS minus both: the
 * allocator, thread stacks, scrypt's working memory while a hash runs).
 */
import v8 from "node:v8";
import { isMainThread } from "node:worker_threads";

// --import runs in the server's worker threads too (the WAL checkpointer): only the main thread reports.
if (isMainThread) {
  const everyMs = Number(process.env.MEMORY_PROBE_MS ?? 5000);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    // The heap's spaces too: heapTotal is mostly the young generation's reserve and the old one's free room.
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    const figures = { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces };
    process.stderr.write(`memory-probe ${JSON.stringify(figures)}\n`);
  }, everyMs);
  timer.unref(); // the probe never keeps a stopping server alive
}
