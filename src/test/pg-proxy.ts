/**
 * A TCP proxy for PostgreSQL fault tests: sits between a shop's pool and the server and reads the
 * client's side as PostgreSQL frontend messages (after the untyped startup packet: a type byte and
 * a length), so a rule sees each message's type and text (`Q` a simple query such as COMMIT, `P`
 * the SQL of a parameterised statement).
 *
 *   proxy.rule = (type, text) => (type === "Q" && text.startsWith("COMMIT") ? "cut" : undefined);
 *
 * Actions: `{ delayMs }` holds the message and everything after it on that connection back (a slow
 * link keeps order); "cut" destroys both sides before the message is forwarded (the server never
 * sees it: a COMMIT cut this way rolls back); "cut-after" forwards it (a Parse: with its Bind, Execute
 * and Sync), then destroys both sides at once (the server acts on it, the client never hears the reply). `frozen` holds every byte in both
 * directions until it is set back to false (a link that silently stops delivering).
 */
import net from "node:net";

export type PgProxyAction = { delayMs: number } | "cut" | "cut-after" | undefined;
export type PgProxyRule = (type: string, text: string) => PgProxyAction;

export async function startPgProxy(targetPort: number, targetHost = "127.0.0.1") {
  let rule: PgProxyRule | undefined;
  let frozen = false;
  let thaw: (() => void)[] = [];
  const whenFlowing = () => (frozen ? new Promise<void>((r) => thaw.push(r)) : Promise.resolve());
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
    let replies = Promise.resolve();
    upstream.on("data", (d) => {
      replies = replies.then(async () => {
        await whenFlowing();
        if (!client.destroyed) client.write(d);
      });
    });

    let pending = Buffer.alloc(0);
    let started = false; // the startup packet has no type byte
    let cutAtSync = false;
    let chain = Promise.resolve();
    client.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const head = started ? 1 : 0;
        if (pending.length < head + 4) break;
        const length = pending.readInt32BE(head) + head;
        if (pending.length < length) break;
        const bytes = pending.subarray(0, length);
        pending = pending.subarray(length);
        const type = started ? String.fromCharCode(bytes[0]!) : "startup";
        // A Parse message carries a statement name first, then the SQL; a Query just the SQL.
        const body = bytes.subarray(head + 4).toString("utf8");
        const text = type === "P" ? body.slice(body.indexOf("\0") + 1) : body;
        started = true;
        const action = rule?.(type, text);
        // "cut-after" a Parse waits for the Sync that ends its Bind/Execute: the statement then runs.
        if (action === "cut-after") cutAtSync = true;
        const cutNow = cutAtSync && (type === "S" || type === "Q");
        if (cutNow) cutAtSync = false;
        chain = chain.then(async () => {
          await whenFlowing();
          if (action === "cut") return closeBoth();
          if (action && action !== "cut-after") await new Promise((r) => setTimeout(r, action.delayMs));
          if (cutNow) {
            // end(), not destroy(): the server gets every byte, then the end of the stream; the client hears nothing.
            client.destroy();
            return void upstream.end(bytes);
          }
          if (!upstream.destroyed) upstream.write(bytes);
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    /** The same URL with this proxy's port. */
    via: (url: string) => url.replace(/:\d+\//, `:${port}/`),
    set rule(next: PgProxyRule | undefined) {
      rule = next;
    },
    set frozen(on: boolean) {
      frozen = on;
      if (!on) {
        for (const r of thaw) r();
        thaw = [];
      }
    },
    /** Cut every open connection now (new ones still get through). */
    cutAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    async close() {
      this.frozen = false;
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
