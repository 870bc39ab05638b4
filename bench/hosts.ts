/**
 * What each session technique costs in round trips to the data host, on the several-hosts network
 * of src/several-hosts.test.ts (src/test/hosts.ts: an app host and a data host in their own network
 * namespaces). One shopper with a one-item cart, one request at a time, straight to the app host:
 * a page view (the catalog with the cart badge: the session read) and an add to the cart (read and
 * write), `BENCH_HOSTS_REQUESTS` of each (200), after 20 of warm-up.
 *
 * The link between the app host and the data host is delayed by bench/lib/link-delay.ts, a TCP proxy
 * in the root namespace, on the bridge: 1 ms and 5 ms each way. `tc qdisc … netem` would delay the
 * veth itself, per packet, in the kernel; this machine's kernel has no sch_netem, so the proxy delays
 * whole chunks in user space, with Node's 1 ms timer granularity (a "1 ms" link is 1–2 ms). The "none"
 * row goes straight to the data host, no proxy. Round trips are estimated from the medians:
 * (median with the delay − median without) / (2 × the delay).
 *
 * The shop's own data (catalog, accounts, orders) is on the data host's PostgreSQL, behind the same
 * delayed link (DATA_STORE=postgres); BENCH_HOSTS_DATA=sqlite keeps it in a local SQLite file instead,
 * so that only the sessions cross the link.
 *
 *   node bench/hosts.ts            (root: it creates namespaces; ~1 min)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../src/test/harness.ts";
import { startHosts, type Technique } from "../src/test/hosts.ts";
import { startLinkDelay } from "./lib/link-delay.ts";

const REQUESTS = Number(process.env.BENCH_HOSTS_REQUESTS ?? 200);
const WARM_UP = 20;
const DELAYS = [0, 1, 5];
const DATA = process.env.BENCH_HOSTS_DATA === "sqlite" ? "sqlite" : "postgres";

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const hosts = await startHosts({ appHosts: 1, shopData: DATA });
const app = hosts.apps[0]!;
let products: number[] = [];

interface Row {
  technique: Technique;
  delayMs: number;
  page: number[];
  add: number[];
}
const rows: Row[] = [];
try {
  for (const technique of ["postgres", "redis"] as const) {
    for (const delayMs of DELAYS) {
      const proxies =
        delayMs === 0
          ? null
          : {
              pg: await startLinkDelay(5432, delayMs, hosts.dataAddress, hosts.bridgeAddress),
              redis: await startLinkDelay(6379, delayMs, hosts.dataAddress, hosts.bridgeAddress),
            };
      const env: Record<string, string> = proxies
        ? {
            DATABASE_URL: `postgres://app@${hosts.bridgeAddress}:${proxies.pg.port}/postgres`,
            REDIS_URL: `redis://${hosts.bridgeAddress}:${proxies.redis.port}`,
          }
        : {};
      await hosts.startShops(technique, env);
      products = await hosts.shopData.addTestProducts(50);
      const c = new Client("");
      await c.get(`${app.url}/`);
      const first = await c.post(`${app.url}/cart/items`, { productId: String(products[0]), quantity: "1", returnTo: "/cart" });
      if (first.status !== 303) throw new Error(`the first add answered ${first.status}`);
      await c.get(`${app.url}/`);
      const row: Row = { technique, delayMs, page: [], add: [] };
      let adds = 0;
      for (let i = 0; i < WARM_UP + REQUESTS; i++) {
        let started = performance.now();
        const page = await c.get(`${app.url}/`);
        const pageMs = performance.now() - started;
        // At most 9 of each of 50 products: the cart's limits (10 a line, 60 lines) never refuse one.
        const productId = products[adds++ % products.length]!;
        started = performance.now();
        const added = await c.post(`${app.url}/cart/items`, { productId: String(productId), quantity: "1", returnTo: "/cart" });
        const addMs = performance.now() - started;
        if (page.status !== 200 || added.status !== 303) throw new Error(`page ${page.status}, add ${added.status}`);
        if (i >= WARM_UP) {
          row.page.push(pageMs);
          row.add.push(addMs);
        }
      }
      rows.push(row);
      await proxies?.pg.close();
      await proxies?.redis.close();
      await sleep(100);
    }
  }
} finally {
  await hosts.close();
}

const fmt = (ms: number) => ms.toFixed(1);
const baseline = (technique: Technique) => rows.find((r) => r.technique === technique && r.delayMs === 0)!;
console.log(
  `\nOne shopper, one request at a time, straight to the app host; ${REQUESTS} page views and ${REQUESTS} adds per row (median, p90 in ms).\n` +
    `The shop's data: ${DATA === "postgres" ? "on the data host's PostgreSQL, behind the same link (DATA_STORE=postgres)" : "a local SQLite file (only the sessions cross the link)"}.\n`,
);
console.log("| sessions in | app host ↔ data host, each way | page view | add to cart | ≈ round trips (page, add) |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const r of rows) {
  const base = baseline(r.technique);
  const trips = (now: number[], before: number[]) => ((quantile(now, 0.5) - quantile(before, 0.5)) / (2 * r.delayMs)).toFixed(1);
  console.log(
    `| ${r.technique === "postgres" ? "PostgreSQL" : "Redis"} | ${r.delayMs === 0 ? "none (same bridge)" : `${r.delayMs} ms (proxy)`} | ` +
      `${fmt(quantile(r.page, 0.5))} (${fmt(quantile(r.page, 0.9))}) | ${fmt(quantile(r.add, 0.5))} (${fmt(quantile(r.add, 0.9))}) | ` +
      `${r.delayMs === 0 ? "—" : `${trips(r.page, base.page)}, ${trips(r.add, base.add)}`} |`,
  );
}
