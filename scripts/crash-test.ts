/**
 * npm run test:crash — kill the server with SIGKILL at random moments during a write load,
 * restart it, and check that every acknowledged write is still there and that SQLite's
 * integrity check passes. "Acknowledged" means the shopper got the redirect after adding:
 * the transaction had committed before the response was sent (WAL, synchronous=NORMAL).
 *
 * Usage: npm run test:crash [-- --cycles 30]
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { addTestProducts, cartOf, Client, freshDatabase, SECRET_A, startServerProcess } from "../src/test/harness.ts";

const cycles = Number(process.argv[process.argv.indexOf("--cycles") + 1]) || 30;
const SHOPPERS = 8;
const PRODUCTS = 120;

const fresh = freshDatabase();
const products = addTestProducts(fresh.db, PRODUCTS);
fresh.db.close();
const env = { DATABASE_PATH: fresh.file, SESSION_SECRETS: SECRET_A, LOG_LEVEL: "warn" };

interface Shopper {
  cookie: string | undefined;
  acked: Set<number>;
}
const shoppers: Shopper[] = [];
let totalAcked = 0;
let totalLost = 0;
const started = Date.now();

/** Everything acknowledged so far must be in each shopper's cart, as served by the server at `url`. */
async function countLost(url: string) {
  let lost = 0;
  for (const s of shoppers) {
    const c = new Client(url);
    if (s.cookie) c.cookies.set("shop_sid", s.cookie);
    const cart = await cartOf(c);
    for (const id of s.acked) if (!cart.has(id)) lost++;
  }
  return lost;
}

for (let cycle = 1; cycle <= cycles; cycle++) {
  const server = startServerProcess({ ...env, LOG_LEVEL: "info" });
  const url = await server.listening;

  // Before loading: everything acknowledged in earlier cycles must have survived their crashes.
  totalLost = await countLost(url);

  // Two new shoppers per cycle; all shoppers add distinct products until the kill.
  shoppers.push({ cookie: undefined, acked: new Set() }, { cookie: undefined, acked: new Set() });
  let stop = false;
  const workers = shoppers.slice(-SHOPPERS).map(async (s) => {
    const c = new Client(url);
    if (s.cookie) c.cookies.set("shop_sid", s.cookie);
    for (const id of products) {
      if (stop) return;
      if (s.acked.has(id)) continue;
      try {
        if (c.cookies.size > 0) await c.get("/cart");
        const res = await c.post("/cart/items", { productId: String(id), quantity: "1", returnTo: "/cart" });
        if (res.status === 303) {
          s.acked.add(id);
          s.cookie = c.cookies.get("shop_sid");
          totalAcked++;
        }
      } catch {
        return; // the server died mid-request: this write was not acknowledged
      }
    }
  });

  await sleep(50 + Math.random() * 400);
  server.child.kill("SIGKILL");
  stop = true;
  await Promise.all([server.exited, ...workers]);

  const db = new Database(fresh.file);
  const integrity = db.pragma("integrity_check", { simple: true });
  db.close();
  if (integrity !== "ok") {
    console.error(`cycle ${cycle}: integrity_check says ${integrity}`);
    process.exit(1);
  }
  process.stdout.write(`cycle ${cycle}/${cycles}: ${totalAcked} acknowledged writes so far, ${totalLost} lost, integrity ok\n`);
}

// A last restart to check the final cycle's writes too.
const last = startServerProcess({ ...env, LOG_LEVEL: "info" });
totalLost = await countLost(await last.listening);
last.child.kill("SIGTERM");
await last.exited;
fs.rmSync(path.dirname(fresh.file), { recursive: true, force: true });

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n${cycles} SIGKILL cycles in ${seconds} s: ${totalAcked} acknowledged writes, ${totalLost} lost; PRAGMA integrity_check ok after every crash`);
process.exit(totalLost === 0 ? 0 : 1);
