/**
 * The session cookie's signature, checked without cookie-parser's generic work (cookie.ts uses this).
 *
 * cookie-parser parses every cookie of every request, turns each secret string into an HMAC key
 * per check, and JSON-parses "j:" values: 25–35 µs per request measured inside the server. The
 * session needs one cookie. This reads only that one, with the HMAC keys prepared once, and
 * remembers the cookie strings it has verified (and the IDs' SHA-256), so a returning browser
 * costs a Map lookup. The outcomes are exactly cookie-parser's (cookie 0.7 + cookie-signature):
 *
 *   no cookie of that name             → undefined
 *   present but not "s:…"              → false   (an unsigned value is never trusted)
 *   "s:<id>.<mac>", mac under a secret → the ID
 *   any other "s:…"                    → false   (tampered, hand-made, or signed with a retired secret)
 *
 * (One difference no visitor can reach: cookie-parser JSON-parses a *validly signed* "j:…" value; we
 * return it as it is, and the storage refuses it as malformed. We never sign such a value.)
 *
 * The hostile-cookie and secret-rotation tests run against this; so does a comparison with
 * cookie-parser itself on awkward headers (cookie-verifier.test.ts).
 */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/** How many verified cookie strings (and signed values, and ID hashes) are remembered; the oldest go first. */
export const REMEMBERED = 10_000;

/**
 * A Map that forgets its oldest entry beyond `max` entries and, given `bytes`, beyond `maxBytes` as
 * counted by `sizeOf` when the value is set: for values whose size varies (a cart can be a hundred
 * times larger than another), a count of entries alone does not bound the memory (issue 29).
 * Setting a key again counts it again, as the newest. A value larger than the whole budget is not kept.
 * Only ever holds values we computed ourselves.
 */
export function bounded<K, V>(max: number, bytes?: { maxBytes: number; sizeOf: (value: V) => number }) {
  const map = new Map<K, V>();
  const sizes = new Map<K, number>(); // only with a byte budget
  let total = 0;
  const drop = (key: K) => {
    map.delete(key);
    if (bytes) {
      total -= sizes.get(key) ?? 0;
      sizes.delete(key);
    }
  };
  return {
    get: (key: K) => map.get(key),
    set(key: K, value: V) {
      drop(key);
      const size = bytes ? bytes.sizeOf(value) : 0;
      if (bytes && size > bytes.maxBytes) return;
      while (map.size > 0 && (map.size >= max || (bytes && total + size > bytes.maxBytes))) drop(map.keys().next().value as K);
      map.set(key, value);
      if (bytes) {
        sizes.set(key, size);
        total += size;
      }
    },
    get size() {
      return map.size;
    },
    /** What `sizeOf` counted for the entries kept (0 without a byte budget). */
    get bytes() {
      return total;
    },
  };
}

const isBlank = (code: number) => code === 0x20 || code === 0x09;

/** The first cookie called `name` in a Cookie header, trimmed, unquoted and decoded exactly as the `cookie` package does. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length < 2 || !header.includes(name)) return undefined;
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(";", start);
    if (end === -1) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq === -1) return undefined; // no more pairs
    if (eq > end) {
      start = end + 1; // a piece without "=" is skipped
      continue;
    }
    let keyStart = start;
    while (keyStart < eq && isBlank(header.charCodeAt(keyStart))) keyStart++;
    let keyEnd = eq;
    while (keyEnd > keyStart && isBlank(header.charCodeAt(keyEnd - 1))) keyEnd--;
    if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
      let valueStart = eq + 1;
      while (valueStart < end && isBlank(header.charCodeAt(valueStart))) valueStart++;
      let valueEnd = end;
      while (valueEnd > valueStart && isBlank(header.charCodeAt(valueEnd - 1))) valueEnd--;
      if (header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
        valueStart++;
        valueEnd--;
      }
      const value = header.slice(valueStart, valueEnd);
      if (!value.includes("%")) return value;
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
    start = end + 1;
  }
  return undefined;
}

export interface CookieVerifier {
  /** The ID inside a signed cookie value (see the table above), or false. */
  verify(value: string): { id: string; keyIndex: number } | false;
  /** "s:<id>.<mac>" under the first secret: what goes into Set-Cookie (remembered, so a re-send costs no HMAC). */
  sign(id: string): string;
  /** sha256(id) in hex, remembered for IDs we have verified or signed. */
  keyOf(id: string): string;
}

export function createCookieVerifier(secrets: readonly string[], max = REMEMBERED): CookieVerifier {
  if (secrets.length === 0) throw new Error("at least one secret is needed to sign cookies");
  const keys: KeyObject[] = secrets.map((secret) => createSecretKey(Buffer.from(secret, "utf8")));
  const macOf = (id: string, key: KeyObject) => createHmac("sha256", key).update(id).digest("base64").replace(/=+$/, "");
  const verified = bounded<string, { id: string; keyIndex: number }>(max);
  const signed = bounded<string, string>(max);
  const hashes = bounded<string, string>(max);

  return {
    verify(value) {
      const known = verified.get(value);
      if (known) return known;
      const dot = value.lastIndexOf(".");
      if (!value.startsWith("s:") || dot < 2) return false;
      const id = value.slice(2, dot);
      const mac = Buffer.from(value.slice(dot + 1));
      for (const [keyIndex, key] of keys.entries()) {
        const expected = Buffer.from(macOf(id, key));
        if (expected.length === mac.length && timingSafeEqual(expected, mac)) {
          const result = { id, keyIndex };
          verified.set(value, result);
          if (keyIndex === 0) signed.set(id, value);
          return result;
        }
      }
      return false;
    },
    sign(id) {
      let value = signed.get(id);
      if (value === undefined) {
        value = `s:${id}.${macOf(id, keys[0]!)}`;
        signed.set(id, value);
        verified.set(value, { id, keyIndex: 0 });
      }
      return value;
    },
    keyOf(id) {
      let key = hashes.get(id);
      if (key === undefined) {
        key = createHash("sha256").update(id).digest("hex");
        hashes.set(id, key);
      }
      return key;
    },
  };
}
