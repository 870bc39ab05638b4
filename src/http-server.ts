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
