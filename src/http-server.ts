/**
 * createHttpServer: Node's HTTP server with the time limits a public server needs. A slow client
 * ("slowloris": headers sent a byte at a time, a body that never finishes) is cut off instead of
 * holding a connection forever; other visitors are never waiting on it either way, because
 * nothing here blocks the event loop while a request is incomplete.
 */
import http from "node:http";
import type { RequestListener } from "node:http";

export interface HttpLimits {
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export function createHttpServer(app: RequestListener, limits: HttpLimits = {}): http.Server {
  const headersTimeout = limits.headersTimeoutMs ?? 10_000;
  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs ?? 30_000,
      // How often Node looks for connections past those limits (the default, 30 s, is too lax).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    app,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs ?? 5_000;
  return server;
}

/**
 * The probes a balancer or an orchestrator asks, answered before the app (no session, no cookie,
 * no log line per probe):
 * - `GET /livez`: 200 while the process can answer at all (restart it when this fails);
 * - `GET /readyz`: 200 while it wants new requests, 503 from SIGTERM on (take it out of rotation).
 *   The 503 starts the shutdown delay (SHUTDOWN_DELAY_SECONDS) during which it still serves.
 */
export function withHealthProbes(app: RequestListener, ready: () => boolean): RequestListener {
  return (req, res) => {
    if (req.method === "GET" || req.method === "HEAD") {
      if (req.url === "/livez") return probe(res, 200, "alive");
      if (req.url === "/readyz") return ready() ? probe(res, 200, "ready") : probe(res, 503, "draining");
    }
    return app(req, res);
  };
}

function probe(res: http.ServerResponse, status: number, body: string) {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
