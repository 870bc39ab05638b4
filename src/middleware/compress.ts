/**
 * Response compression (gzip or brotli, as the `compression` package negotiates) for responses
 * over 12 KB: the home page, a long search or cart, the stylesheet. Never the dashboard's event
 * stream: it must reach the browser event by event, not when a compression block fills.
 * (Compressed pages that reflect input are why CSRF tokens are masked per page: see csrf.ts.)
 *
 * Why not every page (issue 29): compressing a response allocates native memory that glibc's
 * malloc does not give back. Each one takes a zlib or brotli encoder (0.3–4 MB, on libuv's threads)
 * and a 16 KiB output buffer cut from Node's shared Buffer pool, alive until the next garbage
 * collection. Freed in a different order than allocated, among the process's long-lived blocks,
 * they fragment malloc's arenas: in a 3-minute soak the arenas held ≈ 130 MB (most of it free
 * but resident) with every page compressed, ≈ 50 MB with none (docs/performance.md, "Memory under
 * long traffic"). A page under 12 KB gains nothing a shopper notices: with its headers it fits in
 * TCP's first flight of ten segments (14.6 KB, RFC 6928) compressed or not, so it arrives in the
 * same round trip. Above that, compression saves round trips, and it stays on.
 */
import compression from "compression";
import type { RequestHandler } from "express";

/** Bodies up to this size are sent as they are: they fit in TCP's initial window anyway. */
export const COMPRESS_ABOVE_BYTES = 12 * 1024;

export function compress(): RequestHandler {
  return compression({
    threshold: COMPRESS_ABOVE_BYTES,
    filter: (req, res) => !String(res.getHeader("content-type") ?? "").startsWith("text/event-stream") && compression.filter(req, res),
  });
}
