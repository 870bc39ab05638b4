/**
 * A small load generator, run as a separate process so it does not share the server's event loop.
 * Each connection is one shopper with its own session (created before measuring): it alternates
 * a page view of the cart (a session read) and a quantity change (a session write).
 *
 *   node bench/lib/load.ts <baseUrl> <seconds> <connections>
 *
 * SIGINT ends it early (the requests in flight finish, then it prints): bench/cleanup.ts keeps the
 * shoppers on for exactly as long as the sweep takes.
 *
 * Prints one JSON line: totals, failures, latency percentiles and per-100 ms request counts.
 */
import http from "node:http";

const [baseUrl = "", secondsArg = "10", connectionsArg = "8"] = process.argv.slice(2);
const seconds = Number(secondsArg);
const connections = Number(connectionsArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

function request(method: string, path: string, cookie: string, body?: string): Promise<{ status: number; text: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { cookie };
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const req = http.request(baseUrl + path, { method, headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, setCookie: res.headers["set-cookie"] ?? [] }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function shopper(index: number) {
  const productId = (index % 25) + 1 === 6 || (index % 25) + 1 === 11 || (index % 25) + 1 === 14 ? 1 : (index % 25) + 1;
  const created = await request("POST", "/cart/items", "", `productId=${productId}&quantity=1`);
  const cookie = created.setCookie
    .map((c) => c.split(";")[0] ?? "")
    .filter((c) => c.startsWith("shop_sid=") || c.startsWith("__Host-shop_sid="))
    .join("; ");
  const page = await request("GET", "/cart", cookie);
  const token = /name="_csrf" value="([^"]*)"/.exec(page.text)?.[1] ?? "";
  return { cookie, token, productId };
}

const sessions = await Promise.all(Array.from({ length: connections }, (_, i) => shopper(i)));
const started = Date.now();
let deadline = started + seconds * 1000;
process.on("SIGINT", () => {
  deadline = Math.min(deadline, Date.now());
});
const buckets: number[] = [];
const latencies: number[] = [];
const samples: number[] = [];
let failures = 0;
let total = 0;

await Promise.all(
  sessions.map(async (s, i) => {
    let n = i;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      try {
        const res =
          n++ % 2 === 0
            ? await request("GET", "/cart", s.cookie)
            : await request("POST", `/cart/items/${s.productId}`, s.cookie, `_csrf=${encodeURIComponent(s.token)}&quantity=${(n % 2) + 1}`);
        if (res.status >= 400) failures++;
      } catch {
        failures++;
      }
      const latency = performance.now() - t0;
      latencies.push(latency);
      // When each request ended, and how long it took: callers take percentiles over a window.
      samples.push(Date.now() - started, Math.round(latency * 100) / 100);
      total++;
      const bucket = Math.floor((Date.now() - started) / 100);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
  }),
);
agent.destroy();
const elapsedSeconds = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0) * 100) / 100;
console.log(
  JSON.stringify({
    started,
    total,
    failures,
    rps: Math.round(total / elapsedSeconds),
    p50: pct(50),
    p99: pct(99),
    max: pct(100),
    buckets: Array.from(buckets, (b) => b ?? 0),
    samples,
  }),
);
