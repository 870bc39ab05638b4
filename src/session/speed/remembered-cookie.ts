/**
 * The session cookie, remembered (a speed-up composed in technique.ts, in place of cookie.ts).
 *
 * cookie.ts reads req.signedCookies: cookie-parser parses the header, turns each secret string into
 * an HMAC key per check, and compares with cookie-signature; then the ID is hashed. In the full shop
 * this memo saves 16–23 µs of CPU per request (docs/performance.md, bench/speedups.ts). The
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
 * The X-ray says "checked at an earlier request and remembered" when a read was a lookup
 * (technique.ts turns `lastReadRemembered` into a session event). The hostile-cookie and
 * secret-rotation tests run against this (it is what the shop runs); so does a comparison with
 * cookie-parser itself on awkward headers (remembered-cookie.test.ts).
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { cookieAttributes, type SessionCookie } from "../cookie.ts";
import { hashSessionId } from "../id.ts";
import { bounded, REMEMBERED } from "./bounded.ts";

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
  /** Whether the last `verify` was answered from memory (no HMAC computed). */
  readonly lastRemembered: boolean;
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
  let lastRemembered = false;

  return {
    get lastRemembered() {
      return lastRemembered;
    },
    verify(value) {
      const known = verified.get(value);
      lastRemembered = known !== undefined;
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
        key = hashSessionId(id);
        hashes.set(id, key);
      }
      return key;
    },
  };
}

/** cookie.ts's SessionCookie, reading the header itself and remembering what it verified and hashed. */
export function createRememberedCookie(options: {
  cookieName: string;
  cookieSecure: boolean;
  sessionSecrets: readonly string[];
}): SessionCookie & { readonly lastReadRemembered: boolean } {
  const name = options.cookieName;
  const attributes = cookieAttributes(options.cookieSecure);
  const verifier = createCookieVerifier(options.sessionSecrets);
  let lastReadRemembered = false;
  return {
    name,
    attributes,
    get lastReadRemembered() {
      return lastReadRemembered;
    },
    read(req) {
      const value = readCookie(req.headers.cookie, name);
      const verified = value === undefined ? undefined : verifier.verify(value); // unsigned counts as a bad signature
      lastReadRemembered = Boolean(verified) && verifier.lastRemembered;
      return verified ? verified.id : verified;
    },
    keyOf: (id) => verifier.keyOf(id),
    // The signed value is remembered, so a re-send costs no HMAC. (Express encodes it as res.cookie's signed: true would.)
    send: (res, id, expiresAt) => res.cookie(name, verifier.sign(id), { ...attributes, expires: new Date(expiresAt) }),
    clear: (res) => res.clearCookie(name, attributes),
  };
}
