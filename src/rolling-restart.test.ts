/**
 * Restarts behind nginx, with real processes: a rolling restart under load the way
 * scripts/rolling-restart.ts does it (src/test/rolling-restart-load.ts), and SIGTERM with a
 * kept-alive connection open.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SECRET_A, startServerProcess, tempDir } from "./test/harness.ts";
import { rollingRestartUnderLoad } from "./test/rolling-restart-load.ts";

describe("restarting every instance in turn under load behind nginx (keepalive 16)", () => {
  it("32 shoppers adding to their carts while shop-a, shop-b and shop-c restart the documented way: no 5xx, no lost add, a quick clean exit", async () => {
    const r = await rollingRestartUnderLoad("procedure");
    const summary = `statuses ${JSON.stringify(Object.fromEntries(r.statuses))}, exits ${r.exits.map((e) => `${e.code} after ${e.ms} ms`).join(", ")}, resent after nginx closed an idle client connection: ${r.resent}`;
    console.log(`rolling restart: ${summary}`);
    const failures = [...r.statuses].filter(([k]) => k !== "303");
    assert.deepEqual(failures, [], `every add answered 303: no 5xx, no failed request while an instance restarts (${summary})\nnginx:\n${r.nginxErrors}`);
    assert.deepEqual(
      r.exits.map((e) => e.code),
      [0, 0, 0],
      "each stopped instance exits 0",
    );
    assert.ok(
      r.exits.every((e) => e.ms < 6_000),
      `each exits within its 1 s delay and a few seconds of draining (${summary})`,
    );
    assert.ok(r.fewestAdds > 10, "every shopper kept adding through the restarts");
    assert.equal(r.missing, 0, "every acknowledged add is in the cart");
  });
});

/** One request on `agent` (one socket, kept alive): status, Connection header, whether the socket was reused. */
function get(url: string, agent: http.Agent) {
  return new Promise<{ status?: number; connection?: string; reused: boolean }>((resolve, reject) => {
    const req = http.get(`${url}/`, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
    });
    req.on("error", reject);
  });
}

describe("SIGTERM with a kept-alive connection open (what nginx holds)", () => {
  it("a request sent on it after SIGTERM is answered with Connection: close; then the process exits 0 in a few seconds", async () => {
    const dir = tempDir();
    const server = startServerProcess({ DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: SECRET_A });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const url = await server.listening;
      const first = await get(url, agent);
      assert.equal(first.status, 200);
      assert.equal(first.connection, "keep-alive");
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      while (!server.output().includes('"msg":"shutting down"')) await sleep(10);
      await sleep(50);
      // The connection is idle and the shop is draining: a proxy may send on it at any moment.
      const late = await get(url, agent);
      assert.deepEqual(late, { status: 200, connection: "close", reused: true }, "answered on the same connection, which the server then closes");
      assert.equal(await server.exited, 0);
      assert.ok(Date.now() - signalled < 4_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
    } finally {
      agent.destroy();
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
