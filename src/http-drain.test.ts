import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createDrainer, type DrainOptions } from "./http-drain.ts";

/** A server whose handler waits `?ms=` before answering (default at once), with a drainer. */
async function serve(options: DrainOptions) {
  const server = http.createServer((req, res) => {
    const ms = Number(new URL(req.url!, "http://x").searchParams.get("ms") ?? 0);
    const timer = setTimeout(() => res.end("ok"), ms);
    res.on("close", () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 5_000;
  const drainer = createDrainer(server, options);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path = "/") =>
    new Promise<{ status?: number; connection?: string; reused: boolean }>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
      });
      req.on("error", reject);
    });
  return { server, drainer, port, agent, get };
}

describe("createDrainer", () => {
  it("answers a request that arrives on an idle kept-alive connection with Connection: close, on that connection", async () => {
    const { drainer, agent, get } = await serve({ graceMs: 2_000 });
    assert.deepEqual(await get(), { status: 200, connection: "keep-alive", reused: false });
    const drained = drainer.drain();
    await sleep(100);
    assert.deepEqual(await get(), { status: 200, connection: "close", reused: true }, "not dropped under the request (a proxy's 502)");
    const started = Date.now();
    await drained;
    assert.ok(Date.now() - started < 500, "and then closed: nothing left to wait for");
    agent.destroy();
  });

  it("lets an in-flight request finish, telling its client to close the connection", async () => {
    const { drainer, agent, get } = await serve({ graceMs: 2_000 });
    const inFlight = get("/?ms=300");
    await sleep(100);
    const drained = drainer.drain();
    assert.deepEqual(await inFlight, { status: 200, connection: "close", reused: false });
    await drained;
    agent.destroy();
  });

  it("stops accepting: a connection already on its way is still served (with Connection: close), a later one is refused", async () => {
    const { drainer, port } = await serve({ graceMs: 2_000 });
    // Opened at the moment of SIGTERM: it is in the kernel's queue before the listener closes.
    // Closing the listener then would reset it with its request (a proxy's 502); it is accepted instead.
    const onItsWay = net.connect(port, "127.0.0.1");
    const drained = drainer.drain();
    onItsWay.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [reply] = (await once(onItsWay, "data")) as [Buffer];
    assert.match(reply.toString(), /^HTTP\/1\.1 200/);
    assert.match(reply.toString(), /connection: close/i);
    onItsWay.destroy();
    await sleep(50); // a few turns of the event loop: the listener is closed by now
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => net.connect(port, "127.0.0.1").once("error", resolve));
    assert.equal(error.code, "ECONNREFUSED", "a balancer then tries another instance, which is safe even for a POST");
    await drained;
  });

  it("closes a connection that stays idle only after the grace time", async () => {
    const { drainer, agent, get } = await serve({ graceMs: 600 });
    await get();
    const socket = agent.freeSockets[Object.keys(agent.freeSockets)[0]!]![0]!;
    const closed = once(socket, "close").then(() => Date.now());
    const started = Date.now();
    await drainer.drain();
    const after = (await closed) - started;
    assert.ok(after >= 550 && after < 1_500, `closed ${after} ms after drain()`);
    agent.destroy();
  });

  it("gives up on a request that does not finish by the deadline", async () => {
    const { drainer, agent, get } = await serve({ graceMs: 200, deadlineMs: 800 });
    const stuck = get("/?ms=60000").catch((error: NodeJS.ErrnoException) => error.code);
    await sleep(100);
    const started = Date.now();
    await drainer.drain();
    const took = Date.now() - started;
    assert.ok(took >= 700 && took < 1_500, `drained ${took} ms after drain()`);
    assert.equal(await stuck, "ECONNRESET");
    agent.destroy();
  });

  it("with a delay, keeps accepting while the balancer leaves: new connections are served with Connection: close, then refused", async () => {
    const { drainer, port, agent, get } = await serve({ graceMs: 200 });
    assert.deepEqual(await get(), { status: 200, connection: "keep-alive", reused: false });
    assert.equal(drainer.draining, false, "ready before SIGTERM");
    const drained = drainer.drain({ delayMs: 600 });
    assert.equal(drainer.draining, true, "the readiness probe says 503 at once");
    await sleep(100);
    assert.deepEqual(await get(), { status: 200, connection: "close", reused: true }, "the kept-alive connection is answered, then closed by the client");
    await sleep(100);
    // A balancer that has not yet taken this instance out opens a new connection: still accepted.
    assert.deepEqual(await get(), { status: 200, connection: "close", reused: false }, "a new connection during the delay is served");
    await drained;
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => net.connect(port, "127.0.0.1").once("error", resolve));
    assert.equal(error.code, "ECONNREFUSED", "after the delay the listener is closed");
    agent.destroy();
  });
});
