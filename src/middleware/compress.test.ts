import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import express from "express";
import { COMPRESS_ABOVE_BYTES, compress } from "./compress.ts";

/** An HTML page of about `bytes` bytes. */
const pageOf = (bytes: number) =>
  `<!doctype html><title>Shop</title>${"<p>A ceramic teapot, a fountain pen.</p>".repeat(Math.ceil(bytes / 40))}`.slice(0, bytes);
const large = pageOf(COMPRESS_ABOVE_BYTES + 1000);
const small = pageOf(COMPRESS_ABOVE_BYTES - 1000);

let server: Server;
let base: string;
before(async () => {
  const app = express();
  app.use(compress());
  app.get("/large", (_req, res) => res.type("html").send(large));
  app.get("/small", (_req, res) => res.type("html").send(small));
  app.get("/events", (_req, res) => {
    res.type("text/event-stream");
    res.end(`data: ${"x".repeat(COMPRESS_ABOVE_BYTES * 2)}\n\n`);
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** The response as sent (fetch would decode it): its encoding, Vary, and the bytes. */
function get(path: string, acceptEncoding: string): Promise<{ encoding: string | null; vary: string | null; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(base + path, { headers: { "accept-encoding": acceptEncoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"] ?? null, vary: res.headers.vary ?? null, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

describe("compress", () => {
  it("compresses a page over 12 KB, with brotli or gzip as the browser accepts, and it decodes to the page", async () => {
    const br = await get("/large", "gzip, deflate, br, zstd");
    assert.equal(br.encoding, "br");
    assert.equal(zlib.brotliDecompressSync(br.body).toString(), large);
    assert.ok(br.body.length < large.length / 10, `${br.body.length} bytes for ${large.length}`);
    assert.match(br.vary ?? "", /accept-encoding/i, "caches keep one copy per encoding");
    const gzip = await get("/large", "gzip");
    assert.equal(gzip.encoding, "gzip");
    assert.equal(zlib.gunzipSync(gzip.body).toString(), large);
  });

  it("sends a page under 12 KB as it is: it fits in TCP's first flight anyway, and compressing it leaves memory behind", async () => {
    const res = await get("/small", "gzip, deflate, br, zstd");
    assert.equal(res.encoding, null);
    assert.equal(res.body.toString(), small);
  });

  it("never compresses the dashboard's event stream, however large", async () => {
    const res = await get("/events", "gzip, br");
    assert.equal(res.encoding, null, "the events must not wait for a compression block");
    assert.ok(res.body.toString().startsWith("data: xxx"));
  });
});
