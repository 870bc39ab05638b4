/**
 * Session data sealed at rest: a copy of the store (database file, backup, Redis dump) shows no
 * carts and holds no key to open them. The key is derived from the session ID, which the server
 * never stores, so only a request presenting the cookie opens its own record. The store's key is
 * sha256(ID); HKDF with its own salt and info is an independent function of the ID, so the hash
 * gives no key. A random nonce per write (GCM must never reuse one under a key), and the store key
 * as associated data, so a blob copied to another row does not open.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes } from "node:crypto";
import type { SessionData, StoredData } from "./types.ts";

export type Seal = ReturnType<typeof sealFor>;

/** The seal of the session with this ID (from the cookie) and this store key (its sha256); `nonces`: 12 random bytes each. */
export function sealFor(id: string, storeKey: string, nonces: () => Buffer = () => randomBytes(12)) {
  // A KeyObject, not a Buffer: each cipher made from it costs half as much CPU (bench/seal.ts).
  const key = createSecretKey(Buffer.from(hkdfSync("sha256", id, "stateful-shop", "session-data-at-rest/aes-256-gcm/v1", 32)));
  const aad = new TextEncoder().encode(storeKey); // its own bytes: Buffer.from() cuts a slice of a shared 64 KiB pool, which each remembered seal kept alive
  return {
    seal(data: SessionData): StoredData {
      const nonce = nonces();
      const cipher = createCipheriv("aes-256-gcm", key, nonce).setAAD(aad);
      const body = Buffer.concat([cipher.update(JSON.stringify(data), "utf8"), cipher.final(), cipher.getAuthTag()]);
      return { sealed: `v1.${nonce.toString("base64url")}.${body.toString("base64url")}` };
    },
    /** The data, or null when it does not open: tampered, moved to another key, or another ID's. */
    open(stored: StoredData): SessionData | null {
      // A record written before sealing (migration 008) is read as it is, and sealed at its next write.
      if (!("sealed" in stored)) return Array.isArray(stored.cart) ? stored : null;
      const [version, nonce, body] = String(stored.sealed).split(".");
      const raw = Buffer.from(body ?? "", "base64url");
      if (version !== "v1" || nonce?.length !== 16 || raw.length < 17) return null;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64url")).setAAD(aad).setAuthTag(raw.subarray(-16));
        const data = JSON.parse(Buffer.concat([decipher.update(raw.subarray(0, -16)), decipher.final()]).toString("utf8")) as SessionData;
        return Array.isArray(data?.cart) ? data : null;
      } catch {
        return null; // the tag did not verify: not this ID's record, or changed
      }
    },
  };
}
