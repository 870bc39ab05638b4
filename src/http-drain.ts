/**
 * createDrainer: a graceful stop for an HTTP server that sits behind a proxy with keep-alive
 * connections (nginx's `keepalive` in an upstream block, as in `npm run scale-demo`).
 *
 * Why not just `server.close()`: since Node 19 it also closes every idle kept-alive connection at
 * once. nginx keeps those connections to reuse them, and may have written its next request on one
 * an instant before the close reaches it: that request gets a reset ("upstream prematurely closed
 * connection"). nginx retries a GET on another instance, but not a POST it has sent (the first
 * instance may have done the write), so the shopper gets a 502. Nothing in HTTP/1.1 lets a server
 * say "going away" on an idle connection; the only safe way to end a kept-alive connection is to
 * answer a request on it with `Connection: close`, after which the client never sends on it again.
 *
 * So drain() does this:
 *  0. Optionally, first *leaves* for `delayMs` (SHUTDOWN_DELAY_SECONDS): the readiness probe says
 *     503 (`draining`), the listener stays open, and every response carries `Connection: close`,
 *     while the balancer takes this instance out of rotation (an orchestrator that watches the
 *     probe, or `nginx -s reload` with the instance marked `down`: scripts/rolling-restart.ts). A
 *     balancer that no longer sends here never opens a connection that step 1 could reset; a kept-
 *     alive connection it still holds is closed after its next answer, on the balancer's side.
 *  1. Stops accepting (the listening socket closes; nginx, refused, tries another instance, which
 *     is safe even for a POST because nothing was sent, and sets this one aside). One race is the
 *     kernel's: a connection that completed its handshake but was not yet accepted is reset when
 *     the listener closes. A balancer that keeps enough idle connections seldom opens one (the
 *     scale-demo's nginx keeps 64, src/test/nginx.ts).
 *  2. Once the listener is closed, marks every response not yet started, and every request that
 *     arrives from then on, with `Connection: close`: Node closes that connection once the response
 *     is written. Not before: a balancer told to close a connection opens a new one for its next
 *     request, and one opened while the listener is still open lands in that reset (a loaded
 *     machine showed it: 6 POSTs in 1,738 got a 502 from nginx when the marking came first).
 *  3. Closes a connection that stays idle only after `graceMs` of quiet (counted from the drain or
 *     from its last response, whichever is later): a client that was going to reuse it has done so
 *     by then (and got step 2), and nginx has stopped choosing this instance.
 *  4. At `deadlineMs` closes whatever is left (a stuck request must not keep the process alive).
 * The promise resolves when the last connection has closed.
 */
import type http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface DrainOptions {
  /** How long an idle connection stays open once draining (a request on it still gets an answer). */
  graceMs?: number;
  /** When every connection is closed regardless, counted from drain(). */
  deadlineMs?: number;
  /** How often idle connections are checked. */
  sweepMs?: number;
}

interface SocketState {
  /** Requests on this connection without a finished response. */
  busy: number;
  /** When the last response on it ended (or when it connected). */
  idleSince: number;
  /** socket.bytesRead then: more since means a next request is arriving (its headers not complete yet). */
  bytesRead: number;
}

export function createDrainer(server: http.Server, options: DrainOptions = {}) {
  const graceMs = options.graceMs ?? 1_000;
  const deadlineMs = options.deadlineMs ?? 5_000;
  const sweepMs = options.sweepMs ?? 50;
  const sockets = new Map<net.Socket, SocketState>();
  const pending = new Set<http.ServerResponse>();
  let drainStarted = 0;
  let leaving = false;
  let listenerClosed = false;
  let drained: Promise<void> | null = null;

  const closeAfter = (res: http.ServerResponse) => {
    if (res.headersSent) return; // already said keep-alive: that connection waits out its grace time
    res.shouldKeepAlive = false;
    res.setHeader("Connection", "close");
  };

  server.on("connection", (socket: net.Socket) => {
    sockets.set(socket, { busy: 0, idleSince: Date.now(), bytesRead: 0 });
    socket.once("close", () => sockets.delete(socket));
  });
  // Before the app's listener, so the header is set before any handler can start the response.
  server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    if (state) state.busy++;
    if (listenerClosed || leaving) closeAfter(res);
    else pending.add(res);
    res.once("close", () => {
      pending.delete(res);
      if (!state) return;
      state.busy--;
      state.idleSince = Date.now();
      state.bytesRead = socket.bytesRead;
    });
  });

  function sweep() {
    const now = Date.now();
    for (const [socket, state] of sockets) {
      const quiet = state.busy === 0 && socket.bytesRead === state.bytesRead;
      if (quiet && now - Math.max(state.idleSince, drainStarted) >= graceMs) socket.destroy();
    }
  }

  return {
    /** True from drain() on, the delay included: what the readiness probe reports. */
    get draining() {
      return leaving || drainStarted > 0;
    },
    /**
     * Leave for `delayMs` (keep serving, with Connection: close, while the balancer stops sending),
     * then stop accepting, answer what comes with Connection: close, close connections as they go quiet.
     */
    drain({ delayMs = 0 }: { delayMs?: number } = {}): Promise<void> {
      if (drained !== null) return drained;
      if (delayMs <= 0) {
        // No balancer to wait for: Connection: close only once the listener is closed (step 2).
        drained = stopAccepting();
        return drained;
      }
      leaving = true;
      for (const res of pending) closeAfter(res);
      pending.clear();
      drained = sleep(delayMs).then(stopAccepting);
      return drained;
    },
  };

  function stopAccepting(): Promise<void> {
    drainStarted = Date.now();
    return new Promise<void>((resolve) => {
      const sweeper = setInterval(sweep, sweepMs);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        for (const socket of sockets.keys()) socket.destroy();
      }, deadlineMs);
      // net.Server's close, not http.Server's: the latter would close idle connections right now
      // (the very thing to avoid, see above). The callback runs once the last connection is gone.
      // Not at once, but after the event loop has polled once more: libuv accepts every
      // connection already waiting in the kernel's queue when it polls, and a connection still
      // waiting there when the listener closes is reset with its request (the race of step 1).
      // Under load a loop turn is long, so that queue is not empty at the moment of SIGTERM.
      setImmediate(() =>
        setImmediate(() => {
          net.Server.prototype.close.call(server, () => {
            clearInterval(sweeper);
            clearTimeout(deadline);
            resolve();
          });
          // The listener is closed now (libuv closes it at once; only the callback waits): a
          // balancer that reconnects after a Connection: close is refused, which is safe (step 2).
          listenerClosed = true;
          for (const res of pending) closeAfter(res);
          pending.clear();
        }),
      );
    });
  }
}
