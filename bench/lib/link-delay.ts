/**
 * A link with a delay, for benchmarks: a TCP proxy that forwards every chunk, each way, `delayMs`
 * after it arrived. Unlike src/test/tcp-proxy.ts (which holds back everything after a delayed
 * command, as a fault test wants), chunks in flight overlap, as on a wire: the delay adds latency
 * to each round trip, not a queue. Node's timers tick in whole milliseconds, so 1 ms each way is
 * the smallest delay this can add (a LAN between two machines: 0.1–0.5 ms; across zones: 1–2 ms).
 * `tc netem` would be the tool, but this machine's kernel has no sch_netem.
 */
import net from "node:net";

/** `listenHost`: where the proxy listens (bench/hosts.ts: the bridge's address, so app hosts in their own network namespaces reach it). */
export async function startLinkDelay(targetPort: number, delayMs: number, targetHost = "127.0.0.1", listenHost = "127.0.0.1") {
  const sockets = new Set<net.Socket>();
  const pipe = (from: net.Socket, to: net.Socket) =>
    from.on("data", (chunk) => {
      // Timers with the same delay fire in the order they were set: the stream keeps its order.
      setTimeout(() => to.writable && to.write(chunk), delayMs);
    });
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", closeBoth).on("close", closeBoth);
    upstream.on("error", closeBoth).on("close", closeBoth);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
