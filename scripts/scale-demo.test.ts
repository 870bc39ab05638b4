/**
 * `npm run scale-demo` for real: redis-server, three instances and nginx round robin. With Redis
 * the requests hop and the cart stays; with the memory technique the cart is lost as they hop.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { Client, root } from "../src/test/harness.ts";
import { consecutiveFreePorts } from "../src/test/processes.ts";

async function demo(technique: string, check: (url: string, demo: { press(key: string): void; output(): string }) => Promise<void>) {
  const port = await consecutiveFreePorts(4);
  const child = spawn(process.execPath, [path.join(root, "scripts/scale-demo.ts"), "--technique", technique, "--port", String(port)], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  try {
    for (let i = 0; i < 600 && !out.includes("Ctrl-C stops everything"); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(out, /round robin over three instances/, `the demo started:\n${out}`);
    await check(`http://127.0.0.1:${port}`, { press: (key) => child.stdin.write(key), output: () => out });
  } finally {
    const exited = new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", r)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, `Ctrl-C stops nginx, the instances and Redis; the demo said:\n${out}`);
  }
}

const badge = (html: string) => Number(/aria-label="Cart, (\d+) items?"/.exec(html)![1]);

describe("npm run scale-demo", () => {
  it("redis: requests hop between the three instances behind nginx and the cart stays", async () => {
    await demo("redis", async (url) => {
      const c = new Client(url);
      await c.get("/");
      assert.equal((await c.post("/cart/items", { productId: "1", quantity: "2" })).status, 303, "a POST through the balancer passes the CSRF origin check");
      const served = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const page = await c.get("/cart");
        served.add(page.headers.get("x-served-by")!);
        assert.equal(badge(page.text), 2, `request ${i + 1} (${page.headers.get("x-served-by")}) sees the cart`);
      }
      assert.deepEqual([...served].sort(), ["shop-a", "shop-b", "shop-c"]);
    });
  });

  it("memory: the same hops lose the cart — the sticky-session problem", async () => {
    await demo("memory", async (url) => {
      const c = new Client(url);
      await c.get("/");
      await c.post("/cart/items", { productId: "1", quantity: "2" });
      const counts: number[] = [];
      for (let i = 0; i < 6; i++) counts.push(badge((await c.get("/cart")).text));
      assert.ok(counts.includes(0), `some instance did not know the session: ${counts.join(", ")}`);
    });
  });

  it("redis: pressing b restarts shop-b the documented way while a shopper keeps adding — no error, nothing lost", async () => {
    await demo("redis", async (url, demo) => {
      const c = new Client(url);
      await c.get("/");
      // The first add starts the session; the page after it carries that session's CSRF token.
      assert.equal((await c.post("/cart/items", { productId: "1", quantity: "1" })).status, 303);
      await c.get("/");
      const statuses: number[] = [];
      let adds = 1;
      let running = true;
      const shopper = (async () => {
        // Paced, and at most 6 of each of 5 products (within a line's 10 and their stock).
        while (running && adds < 30) {
          const reply = await c.post("/cart/items", { productId: String(1 + (adds % 5)), quantity: "1", returnTo: "/cart" });
          statuses.push(reply.status);
          if (reply.status === 303) adds++;
          await new Promise((r) => setTimeout(r, 80));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      demo.press("b");
      for (let i = 0; i < 200 && !/shop-b (restarted|could not)/.test(demo.output()); i++) await new Promise((r) => setTimeout(r, 100));
      running = false;
      await shopper;
      assert.match(
        demo.output(),
        /shop-b restarted: out of rotation \(\d+ ms\) → stopped \(\d+ ms\) → new process ready \(\d+ ms\) → back in rotation \(\d+ ms\); the old process exited with 0/,
      );
      assert.deepEqual(
        statuses.filter((s) => s !== 303),
        [],
        `every add during the restart answered 303 (${statuses.length} adds)`,
      );
      const served = new Set<string>();
      for (let i = 0; i < 6; i++) served.add((await c.get("/cart")).headers.get("x-served-by")!);
      assert.ok(served.has("shop-b"), `shop-b is back in rotation (served by ${[...served].join(", ")})\n${demo.output()}`);
      assert.ok(adds >= 10, `the shopper kept adding during the restart (${adds})`);
      assert.equal(badge((await c.get("/cart")).text), adds, "the cart holds every acknowledged add");
    });
  });
});
