/**
 * What the PostgreSQL store's one-statement write saves, in the full shop: bench/app-server.ts on
 * SESSION_STORE=postgres from this tree against the same from another checkout (the code before
 * the change), each on its own database of one throwaway cluster started here.
 *
 * 1. Statements: a few add-to-cart pairs through a proxy that reads the wire protocol
 *    (src/test/pg-proxy.ts), counting what reaches PostgreSQL per request, by kind.
 * 2. CPU: the routes a shopper uses (add to cart as an add + remove pair, so the cart stays the same
 *    size; the cart page), interleaved 2 s slices, the order alternating, fresh processes per round,
 *    one session per connection. Server CPU per request from schedstat (lib/cpu.ts): the shop
 *    process, and PostgreSQL's postmaster and backends during that slice.
 *
 *   node bench/pg-write.ts <other-checkout> [rounds=2] [slices=6]
 *
 * The other checkout needs node_modules (symlinks to this one's will do) and this tree's
 * bench/app-server.ts (it reads SESSION_STORE and DATABASE_URL).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { startPgProxy } from "../src/test/pg-proxy.ts";
import { startPostgresServer } from "../src/test/postgres-server.ts";
import { loadWithSessions } from "./lib/autocannon.ts";
import { cpuMeter } from "./lib/cpu.ts";
import { type BenchServer, cookieHeaderOf, startBenchServer } from "./lib/servers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [other = "", roundsArg = "2", slicesArg = "6"] = process.argv.slice(2);
if (!other) throw new Error("usage: node bench/pg-write.ts <other-checkout> [rounds] [slices]");
const [rounds, slices] = [Number(roundsArg), Number(slicesArg)];
const CONNECTIONS = 4;
const SECONDS = 2;
const form = { "content-type": "application/x-www-form-urlencoded" };
const routes: Record<string, autocannon.Request[]> = {
  "add to cart": [
    { method: "POST", path: "/cart/items", headers: form, body: "productId=3&quantity=1&returnTo=%2Fcart" },
    { method: "POST", path: "/cart/items/3/delete", headers: form, body: "" },
  ],
  "cart page": [{ method: "GET", path: "/cart" }],
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const spread = (xs: number[]) =>
  `median ${r1(quantile(xs, 0.5))} (quartiles ${r1(quantile(xs, 0.25))}…${r1(quantile(xs, 0.75))}, min ${r1(Math.min(...xs))}, max ${r1(Math.max(...xs))})`;

/** Sessions of the full shop: one cart line each, and the CSRF token of its cart page. */
async function shoppers(url: string, count = CONNECTIONS) {
  const list: Record<string, string>[] = [];
  for (let i = 0; i < count; i++) {
    const add = await fetch(`${url}/cart/items`, { method: "POST", redirect: "manual", headers: form, body: "productId=2&quantity=1&returnTo=%2Fcart" });
    const cookie = cookieHeaderOf(add.headers.getSetCookie().filter((c) => c.startsWith("shop_sid=")));
    const token = /name="_csrf" value="([^"]+)"/.exec(await (await fetch(`${url}/cart`, { headers: { cookie } })).text())?.[1];
    if (!token) throw new Error("no CSRF token on the cart page");
    list.push({ cookie, "x-csrf-token": token });
  }
  return list;
}

const postgres = await startPostgresServer();
const trees = { after: root, before: path.resolve(other) } as const;
type Name = keyof typeof trees;
const names: Name[] = ["before", "after"];
const databases = { before: await postgres.database(), after: await postgres.database() };
const env = (name: Name, url = databases[name]) => ({ SESSION_STORE: "postgres", DATABASE_URL: url });

try {
  // 1. What reaches PostgreSQL per request, through the counting proxy.
  const proxy = await startPgProxy(postgres.port);
  let statements: string[] = [];
  proxy.rule = (type, text) =>
    void (
      (type === "P" || type === "Q") &&
      statements.push(
        text
          .replace(/\0[\s\S]*$/, "")
          .trim()
          .split(/\s+/)
          .slice(0, 2)
          .join(" "),
      )
    );
  for (const name of names) {
    const server = await startBenchServer(trees[name], "bench/app-server.ts", "app-on", [], env(name, proxy.via(databases[name])));
    const [client] = await shoppers(server.url, 1);
    for (const [route, requests] of Object.entries(routes)) {
      await loadWithSessions(server.url, requests, [client!], 1, 1); // warm-up: connections made
      statements = [];
      const n = 20;
      for (let i = 0; i < n; i++) {
        for (const r of requests) {
          const res = await fetch(server.url + r.path, {
            method: r.method,
            headers: { ...(r.headers as Record<string, string>), ...client },
            body: r.body as string | undefined,
            redirect: "manual",
          });
          if (res.status >= 400) throw new Error(`${name} ${route}: ${res.status}`);
          await res.arrayBuffer();
        }
      }
      const perRequest = statements.length / (n * requests.length);
      const counts = new Map<string, number>();
      for (const s of statements) counts.set(s, (counts.get(s) ?? 0) + 1);
      const kinds = [...counts].map(([k, v]) => `${k} ×${r1(v / (n * requests.length))}`);
      console.log(`${name}, ${route}: ${r1(perRequest)} statements per request (${kinds.join(", ")})`);
    }
    await server.stop();
  }
  await proxy.close();

  // 2. CPU per request, paired slices.
  const empty = () => Object.fromEntries(Object.keys(routes).map((route) => [route, { before: [] as number[], after: [] as number[] }]));
  const per = empty();
  const pgPer = empty();
  const saved = Object.fromEntries(Object.keys(routes).map((route) => [route, [] as number[]]));
  const measure = async (server: BenchServer, requests: autocannon.Request[], clients: Record<string, string>[]) => {
    const shopUsed = cpuMeter(server.child.pid!);
    // A backend may end during the slice (an idle pooled connection, autovacuum): it counts what it used until then.
    const pgUsed = postgres.processes().map((pid) => {
      let last = 0;
      try {
        const used = cpuMeter(pid);
        return () => {
          try {
            last = used();
          } catch {}
          return last;
        };
      } catch {
        return () => 0;
      }
    });
    const m = await loadWithSessions(server.url, requests, clients, SECONDS, CONNECTIONS);
    if (m.bad > 0) throw new Error(`${server.name}: ${m.bad} bad responses`);
    return { shop: shopUsed() / m.responses, pg: pgUsed.reduce((sum, used) => sum + used(), 0) / m.responses };
  };
  for (let round = 0; round < rounds; round++) {
    const servers = {} as Record<Name, BenchServer>;
    const clients = {} as Record<Name, Record<string, string>[]>;
    for (const name of names) {
      servers[name] = await startBenchServer(trees[name], "bench/app-server.ts", "app-on", [], env(name));
      clients[name] = await shoppers(servers[name].url);
      for (const r of Object.values(routes)) await loadWithSessions(servers[name].url, r, clients[name], 1, CONNECTIONS); // warm-up
    }
    for (let slice = 0; slice < slices; slice++) {
      for (const [route, requests] of Object.entries(routes)) {
        const us = {} as Record<Name, number>;
        for (const name of slice % 2 === 0 ? names : [...names].reverse()) {
          const m = await measure(servers[name], requests, clients[name]);
          us[name] = m.shop;
          per[route]![name].push(m.shop);
          pgPer[route]![name].push(m.pg);
        }
        saved[route]!.push(us.before - us.after);
      }
    }
    for (const name of names) await servers[name].stop();
  }
  console.log(`\n${rounds * slices} paired slices of ${SECONDS} s per route, ${CONNECTIONS} connections, one session each; µs of CPU per request`);
  for (const route of Object.keys(routes)) {
    for (const name of names) console.log(`${route}, ${name}: shop ${spread(per[route]![name])}; PostgreSQL ${spread(pgPer[route]![name])}`);
    console.log(`${route}: shop CPU saved per request (before − after, per slice): ${spread(saved[route]!)}`);
  }
} finally {
  await postgres.close();
}
