/**
 * A restart under load behind nginx, shared by src/rolling-restart.test.ts (which asserts on it)
 * and `npm run bench:rolling` (which counts, round after round, what each way of restarting costs):
 * redis-server, three shop processes on one SQLite file, nginx round robin with an ordinary
 * configuration (keepalive 16), 32 shoppers adding to their carts through nginx.
 *
 * - "procedure": every instance in turn, restarted as scripts/rolling-restart.ts says (out of
 *   rotation, SIGTERM with SHUTDOWN_DELAY_SECONDS=1, a new process, ready, back in rotation).
 * - "plain-sigterm": shop-b only gets SIGTERM (no delay) and is started again: what the shop
 *   offered before (issue 26: 6 POSTs got a 502 in 2 of 4 rounds). Only one instance, because nginx
 *   sets aside an instance it could not reach for 10 s and the others would be left alone.
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { restartBehindBalancer } from "../../scripts/rolling-restart.ts";
import { addTestProducts, cartOf, Client, freshDatabase, SECRET_A, startServerProcess, tempDir } from "./harness.ts";
import { startNginx } from "./nginx.ts";
import { freePort } from "./processes.ts";
import { startRedisServer } from "./redis-server.ts";

const SHOPPERS = 32;
const PRODUCTS = 50; // a cart holds at most 60 lines, at most 10 of each
const MAX_ADDS = PRODUCTS * 10;

export type RestartMode = "procedure" | "plain-sigterm";

export interface RollingResult {
  /** Answers to the adds: "303", "502", or "network error: …". */
  statuses: Map<string, number>;
  exits: { code: number | null; ms: number }[];
  /** Adds sent again because nginx closed the idle client connection they went out on (see addOnce). */
  resent: number;
  /** Acknowledged adds missing from their cart afterwards (must be 0). */
  missing: number;
  /** Fewest adds any shopper made (each must keep adding through the restarts). */
  fewestAdds: number;
  /** The first [error] lines of nginx's log. */
  nginxErrors: string;
}

export async function rollingRestartUnderLoad(mode: RestartMode): Promise<RollingResult> {
  const redis = await startRedisServer();
  const dir = tempDir();
  const fresh = freshDatabase(dir);
  const ids = addTestProducts(fresh.db, PRODUCTS);
  fresh.db.close();
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  const start = (i: number) =>
    startServerProcess({
      PORT: String(ports[i]),
      SESSION_STORE: "redis",
      REDIS_URL: redis.url,
      DATABASE_PATH: fresh.file,
      SESSION_SECRETS: SECRET_A,
      INSTANCE_NAME: `shop-${"abc"[i]}`,
      TRUST_PROXY: "1",
      SHUTDOWN_DELAY_SECONDS: mode === "procedure" ? "1" : "0",
    });
  const servers = [0, 1, 2].map(start);
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    await Promise.all(servers.map((s) => s.listening));
    nginx = await startNginx(await freePort(), ports, { stdio: "ignore" });
    const shoppers = await Promise.all(
      Array.from({ length: SHOPPERS }, async (_, n) => {
        // The first add starts the session; the page after it carries that session's CSRF token.
        const c = new Client(nginx!.url);
        await c.get("/");
        const first = ids[n % PRODUCTS]!;
        const reply = await c.post("/cart/items", { productId: String(first), quantity: "1" });
        if (reply.status !== 303) throw new Error(`the first add answered ${reply.status}`);
        await c.get("/");
        return { c, acked: new Map([[first, 1]]), adds: 1 };
      }),
    );
    const statuses = new Map<string, number>();
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
    let resent = 0;
    let running = true;
    const load = shoppers.map(async (s, n) => {
      while (running && s.adds < MAX_ADDS) {
        const id = ids[(n + s.adds++) % PRODUCTS]!;
        try {
          const { reply, wasResent } = await addOnce(s.c, id);
          if (wasResent) resent++;
          count(String(reply.status));
          if (reply.status === 303) s.acked.set(id, (s.acked.get(id) ?? 0) + 1);
        } catch (error) {
          count(`network error: ${(error as Error).message}`);
        }
      }
    });

    const exits: RollingResult["exits"] = [];
    // Load first, so nginx's pools of kept-alive connections have grown to it.
    await sleep(1_000);
    for (const i of mode === "procedure" ? [0, 1, 2] : [1]) {
      const stop = async () => {
        const signalled = Date.now();
        servers[i]!.child.kill("SIGTERM");
        const code = await servers[i]!.exited;
        exits.push({ code, ms: Date.now() - signalled });
        return code;
      };
      const startAgain = async () => {
        servers[i] = start(i);
        await servers[i]!.listening;
      };
      if (mode === "procedure") await restartBehindBalancer({ balancer: nginx, port: ports[i]!, stop, start: startAgain });
      else {
        await stop();
        await startAgain();
      }
      await sleep(500);
    }
    running = false;
    await Promise.all(load);

    let missing = 0;
    for (const s of shoppers) {
      const cart = await cartOf(s.c);
      missing += [...s.acked].filter(([id, n]) => (cart.get(id) ?? 0) < n).length;
    }
    const nginxErrors = nginx
      .errorLog()
      .split("\n")
      .filter((l) => /\[error\]/.test(l))
      .slice(0, 5)
      .join("\n");
    return { statuses, exits, resent, missing, fewestAdds: Math.min(...shoppers.map((s) => s.adds)), nginxErrors };
  } finally {
    for (const s of servers) s.child.kill("SIGTERM");
    await Promise.all(servers.map((s) => s.exited));
    await nginx?.close();
    await redis.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One add, sent again if nginx closed the idle kept-alive connection it went out on, before any
 * byte of an answer: undici's UND_ERR_SOCKET ("other side closed"), or ECONNRESET when the request's
 * bytes reached a socket nginx was closing unread. nginx closes every idle client connection when
 * it reloads (step 1 of the procedure), and a browser that loses a reused connection that way sends
 * the request again (Chromium does, for any method): nginx never read it, so it was never proxied. The next try may go out on another of the
 * connections nginx just closed, hence up to 3. Counted in `resent`, never hidden.
 */
async function addOnce(c: Client, id: number) {
  const add = () => c.post("/cart/items", { productId: String(id), quantity: "1", returnTo: "/cart" });
  for (let attempt = 1; ; attempt++) {
    try {
      return { reply: await add(), wasResent: attempt > 1 };
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if ((code !== "UND_ERR_SOCKET" && code !== "ECONNRESET") || attempt === 3)
        throw new Error(`${(error as Error).message} (${code ?? "no code"}, try ${attempt})`);
    }
  }
}
