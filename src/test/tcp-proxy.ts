/**
 * A TCP proxy for fault tests: sits between a shop (or a store's client) and redis-server and can
 * delay or cut the link right before a chosen Redis command. It reads the client's side as RESP
 * (the arrays of bulk strings that node-redis sends), so a rule sees each command's words.
 *
 *   const proxy = await startTcpProxy(redis.port);
 *   proxy.rule = (command) => (command.some((w) => w.includes('"productId":101')) ? { delayMs: 3000 } : undefined);
 *
 * A delayed command holds back everything after it on that connection (a slow link keeps order);
 * a cut destroys both sides before the command is forwarded, so Redis never sees it. `replyDelayMs`
 * slows the way back: a reply can then reach an instance that was paused after Redis acted.
 */
import net from "node:net";

export type ProxyAction = { delayMs: number } | "cut" | undefined;
/** Called for every command, with its words and its number since the rule was set (1-based). */
export type ProxyRule = (command: string[], n: number) => ProxyAction;

/** One complete RESP array of bulk strings at the start of `buf`, or null if it has not all arrived. */
function parseCommand(buf: Buffer): { words: string[]; length: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== 0x2a /* '*' */) {
    const end = buf.indexOf("\r\n"); // an inline command (redis-cli style)
    return end === -1 ? null : { words: buf.subarray(0, end).toString().split(" "), length: end + 2 };
  }
  let pos = buf.indexOf("\r\n");
  if (pos === -1) return null;
  const count = Number(buf.subarray(1, pos).toString());
  pos += 2;
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const lineEnd = buf.indexOf("\r\n", pos);
    if (lineEnd === -1) return null;
    const size = Number(buf.subarray(pos + 1, lineEnd).toString());
    const start = lineEnd + 2;
    if (buf.length < start + size + 2) return null;
    words.push(buf.subarray(start, start + size).toString());
    pos = start + size + 2;
  }
  return { words, length: pos };
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1") {
  let rule: ProxyRule | undefined;
  let counted = 0;
  let replyDelayMs = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", closeBoth).on("close", closeBoth);
    upstream.on("error", closeBoth).on("close", closeBoth);
    let replies = Promise.resolve(); // replies keep their order too, each held back by replyDelayMs
    upstream.on("data", (d) => {
      const delayMs = replyDelayMs;
      replies = replies.then(async () => {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (!client.destroyed) client.write(d);
      });
    });

    let pending = Buffer.alloc(0);
    let chain = Promise.resolve(); // commands go out in order, each after any delay before it
    client.on("data", (data) => {
      pending = Buffer.concat([pending, data]);
      for (let cmd = parseCommand(pending); cmd; cmd = parseCommand(pending)) {
        const bytes = pending.subarray(0, cmd.length);
        pending = pending.subarray(cmd.length);
        const action = rule?.(cmd.words, ++counted);
        chain = chain.then(async () => {
          if (action === "cut") return closeBoth();
          if (action) await new Promise((r) => setTimeout(r, action.delayMs));
          if (!upstream.destroyed) upstream.write(bytes);
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** The rule for the commands from now on; numbering restarts at 1. */
    set rule(next: ProxyRule | undefined) {
      rule = next;
      counted = 0;
    },
    /** Hold every reply from Redis back this long (a slow link on the way back). */
    set replyDelayMs(ms: number) {
      replyDelayMs = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
