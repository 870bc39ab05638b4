import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import type { AddressInfo } from "node:net";
import http from "node:http";
import { createHttpServer, withHealthProbes } from "./http-server.ts";
import { startTestApp } from "./test/harness.ts";

let app: Awaited<ReturnType<typeof startTestApp>>;
let server: ReturnType<typeof createHttpServer>;
let port: number;
before(async () => {
  app = await startTestApp();
  server = createHttpServer(app.app, { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await app.close();
});

describe("slow clients", () => {
  it("40 connections dribbling headers neither starve other visitors nor stay open", async () => {
    const slow = Array.from({ length: 40 }, () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.resume(); // read what the server says (a 408), so "close" can fire
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n"); // and never the blank line that ends the headers
      const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now())));
      return { socket, closed };
    });
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started < 1_000, "a normal visitor is served at once");
    const closedAt = await Promise.all(slow.map((s) => s.closed));
    assert.ok(Math.max(...closedAt) - started < 5_000, "every slow connection was cut off after the header timeout");
  });
});

describe("health probes", () => {
  it("answer /livez and /readyz before the app, /readyz 503 once the shop is draining; other paths reach the app", async () => {
    let ready = true;
    let appCalls = 0;
    const server = http.createServer(
      withHealthProbes(
        (_req, res) => {
          appCalls++;
          res.end("app");
        },
        () => ready,
      ),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const live = await fetch(`${base}/livez`);
      assert.deepEqual([live.status, await live.text(), live.headers.get("set-cookie")], [200, "alive", null]);
      const readyReply = await fetch(`${base}/readyz`);
      assert.deepEqual([readyReply.status, await readyReply.text()], [200, "ready"]);
      ready = false;
      const draining = await fetch(`${base}/readyz`);
      assert.deepEqual([draining.status, await draining.text(), draining.headers.get("cache-control")], [503, "draining", "no-store"]);
      assert.equal((await fetch(`${base}/livez`)).status, 200, "alive while draining: an orchestrator must not kill it early");
      assert.equal(appCalls, 0, "probes never reach the app (no session, no log line)");
      assert.equal(await (await fetch(`${base}/readyz/x`)).text(), "app");
      assert.equal(appCalls, 1);
    } finally {
      server.close();
    }
  });
});
