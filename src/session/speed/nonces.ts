/**
 * Pooled nonces (a speed-up composed in technique.ts): 12-byte nonces cut from one draw of the
 * CSPRNG. randomBytes(12) is a call into OpenSSL's locked generator; a slice of a pool costs
 * 0.1–0.2 µs. The bytes are the same generator's; each slice is handed out once, so none repeats.
 */
import { randomBytes } from "node:crypto";

const NONCE_BYTES = 12;

export function nonceSource(batch = 256): () => Buffer {
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + NONCE_BYTES > pool.length) {
      pool = randomBytes(NONCE_BYTES * batch);
      at = 0;
    }
    at += NONCE_BYTES;
    return pool.subarray(at - NONCE_BYTES, at);
  };
}
