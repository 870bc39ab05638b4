/**
 * The cookie technique: the whole session lives in the cookie, and the server keeps nothing.
 * A sibling of storage.ts (same four calls), not a fake store: there is no record to look up.
 *
 *   cookie value = base64url( IV (12 bytes) | AES-256-GCM ciphertext of the JSON | tag (16 bytes) )
 *
 * Why authenticated encryption and not a signature or a plain cipher: a signature (cookie-session)
 * stops tampering but lets anyone read the cart; a cipher without authentication (the source
 * texts' aes-256-ctr) hides it but lets an attacker flip bits of the JSON undetected. GCM does
 * both: a single changed bit makes decryption fail, and the visitor gets a fresh session.
 *
 * Keys come from SESSION_SECRETS through HKDF: the first secret encrypts, every secret decrypts,
 * so rotation logs nobody out; a cookie opened with an older key is re-sealed at its next write.
 *
 * Trade-offs, said plainly (the classroom shows each one):
 * - Browsers keep at most 4096 bytes per cookie: a write that would not fit is refused with a
 *   message and nothing changes (SessionTooLargeError, 413).
 * - The server cannot revoke anything: logout clears the cookie in this browser, but a copy of the
 *   old cookie stays valid until it expires (it carries its own expiry, sealed inside).
 * - Two tabs writing at once: each sends back its own cookie and the last one wins (no store to
 *   serialise on). "Your active sessions" cannot be listed.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync } from "node:crypto";
import type { Request, Response } from "express";
import type { Clock } from "../clock.ts";
import { cookieAttributes, NOTICE_GRACE_MS } from "./cookie.ts";
import { SessionTooLargeError } from "./errors.ts";
import { deepFreeze } from "./freeze.ts";
import { hashSessionId, isWellFormedSessionId, newSessionId } from "./id.ts";
import { bounded } from "./speed/bounded.ts";
import { nonceSource } from "./speed/nonces.ts";
import type { Session, SessionData, SessionStorage } from "./types.ts";

/** What browsers promise to keep for one cookie (RFC 6265 §6.1: at least 4096 bytes of name, value and attributes). */
export const MAX_COOKIE_BYTES = 4096;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const tooLarge = (bytes: number) =>
  new SessionTooLargeError(
    `Your cart no longer fits in a cookie: it would need ${bytes.toLocaleString("en-US")} bytes and browsers keep at most ` +
      `${MAX_COOKIE_BYTES.toLocaleString("en-US")}. Nothing was changed. (This shop is running the cookie technique; ` +
      `the server-side techniques have no such limit.)`,
    bytes,
  );

/** What is sealed inside the cookie. `id` is a random nonce: CSRF tokens and fingerprints hang on it. */
interface Sealed {
  id: string;
  data: SessionData;
  userId: number | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface CookieSessionStorageOptions {
  clock: Clock;
  cookieName: string;
  cookieSecure: boolean;
  sessionSecrets: readonly string[];
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
}

/** How many opened cookies are remembered: fewer than the stores' IDs, since each may be up to 4 KB (≤ 16 MB in all). */
const REMEMBERED_COOKIES = 2_000;

export function createCookieSealer(secrets: readonly string[], cookieName: string, max = REMEMBERED_COOKIES) {
  // One 256-bit key per secret; the info string keeps these keys apart from any other use of the secrets.
  // KeyObjects, not Buffers: a cipher made from a KeyObject costs a fifth of the CPU (bench/seal.ts).
  const keys = secrets.map((secret) => createSecretKey(Buffer.from(hkdfSync("sha256", secret, "stateful-shop", "cookie-session/aes-256-gcm/v1", 32))));
  // The cookie's name is authenticated too, so a value cannot be moved to another cookie.
  const aad = Buffer.from(cookieName);
  const ivs = nonceSource(); // a fresh IV for every seal (GCM must never reuse one under a key), cut from one CSPRNG draw
  // Opening is a pure function of the cookie string (and the keys): a browser that sends the same
  // cookie again gets the value it opened to, without decrypting again. Frozen, because every
  // request with that cookie shares it; only exact strings we authenticated are ever remembered.
  const opened = bounded<string, { value: Sealed; keyIndex: number; remembered: true }>(max);

  const decrypt = (cookie: string): { value: Sealed; keyIndex: number } | null => {
    if (!/^[A-Za-z0-9_-]+$/.test(cookie)) return null;
    const raw = Buffer.from(cookie, "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return null;
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
    for (const [keyIndex, key] of keys.entries()) {
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, iv).setAAD(aad).setAuthTag(tag);
        const json = Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
        const value = JSON.parse(json) as Sealed;
        if (!isWellFormedSessionId(value.id) || !Array.isArray(value.data?.cart)) return null;
        return { value, keyIndex };
      } catch {
        // wrong key or tampered: try the next secret
      }
    }
    return null;
  };

  return {
    seal(value: Sealed): string {
      const iv = ivs();
      const cipher = createCipheriv("aes-256-gcm", keys[0]!, iv).setAAD(aad);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      const cookie = Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
      opened.set(cookie, { value: deepFreeze(structuredClone(value)), keyIndex: 0, remembered: true }); // the browser sends this one next
      return cookie;
    },
    /** The sealed value and which key opened it (0 = current), or null for anything that fails authentication. `remembered`: opened before, not decrypted now. */
    open(cookie: string): { value: Sealed; keyIndex: number; remembered?: boolean } | null {
      const known = opened.get(cookie);
      if (known) return known;
      const result = decrypt(cookie);
      if (result) opened.set(cookie, { value: deepFreeze(result.value), keyIndex: result.keyIndex, remembered: true });
      return result;
    },
  };
}

export function createCookieSessionStorage(options: CookieSessionStorageOptions): SessionStorage {
  const { clock, cookieName, idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = options;
  const sealer = createCookieSealer(options.sessionSecrets, cookieName);
  const attributes = cookieAttributes(options.cookieSecure);
  const expiryFor = (createdAt: number, lastSeenAt: number) => Math.min(lastSeenAt + idleTimeoutMs, createdAt + absoluteTimeoutMs);

  const fresh = (events: Session["events"]): Session => ({
    id: null,
    key: null,
    data: { cart: [] },
    userId: null,
    createdAt: null,
    lastSeenAt: null,
    expiresAt: null,
    events,
  });

  const adopt = (session: Session, sealed: Sealed) =>
    Object.assign(session, {
      id: sealed.id,
      key: hashSessionId(sealed.id),
      data: sealed.data,
      userId: sealed.userId,
      createdAt: sealed.createdAt,
      lastSeenAt: sealed.lastSeenAt,
      expiresAt: sealed.expiresAt,
    });

  /** Seal and send, or refuse before anything is sent when the browser would drop it. */
  const send = (res: Response, sealed: Sealed) => {
    const value = sealer.seal(sealed);
    const bytes = Buffer.byteLength(`${cookieName}=${value}`);
    if (bytes > MAX_COOKIE_BYTES) throw tooLarge(bytes);
    // Kept by the browser past the session's end (the expiry sealed inside decides), so that an
    // expired cookie still arrives and the shop can say why the session ended (NOTICE_GRACE_MS).
    res.cookie(cookieName, value, { ...attributes, expires: new Date(sealed.createdAt + absoluteTimeoutMs + NOTICE_GRACE_MS) });
  };

  const sealedOf = (session: Session): Sealed => ({
    id: session.id!,
    data: session.data,
    userId: session.userId,
    createdAt: session.createdAt!,
    lastSeenAt: session.lastSeenAt!,
    expiresAt: session.expiresAt!,
  });

  const clear = (res: Response) => res.clearCookie(cookieName, attributes);

  return {
    technique: "cookie",
    cookieName,

    async load(req: Request, res: Response): Promise<Session> {
      // Only this cookie, read straight from the header (no cookie-parser on the hot path). A value
      // starting "s:" is what cookie-parser took for a signed cookie and hid: it stays "no cookie".
      // req.cookies (cookie-parser) holds the unsigned values: ours is sealed, not signed.
      const raw: unknown = req.cookies[cookieName];
      if (typeof raw !== "string") return fresh(["no-cookie"]);
      const opened = sealer.open(raw);
      if (!opened) {
        clear(res);
        return fresh(["bad-signature"]);
      }
      const sealed = opened.value;
      const now = clock.now();
      // The expiry is inside the sealed value, so the visitor cannot extend it; the server's clock decides.
      const absoluteOver = now - sealed.createdAt >= absoluteTimeoutMs;
      if (absoluteOver || now - sealed.lastSeenAt >= idleTimeoutMs) {
        clear(res);
        const record = {
          data: sealed.data,
          userId: sealed.userId,
          createdAt: sealed.createdAt,
          lastSeenAt: sealed.lastSeenAt,
          expiresAt: sealed.expiresAt,
          userAgent: null,
        };
        return { ...fresh([absoluteOver ? "expired-absolute" : "expired-idle"]), ended: { key: hashSessionId(sealed.id), record } };
      }
      const session = fresh(opened.remembered ? ["loaded", "opened-from-memory"] : ["loaded"]);
      adopt(session, sealed);
      const stale = now - sealed.lastSeenAt >= touchIntervalMs;
      if (stale || opened.keyIndex > 0) {
        // Sliding expiry (throttled like the stores' touch), and re-sealing under the current key.
        const touched = { ...sealed, lastSeenAt: now, expiresAt: expiryFor(sealed.createdAt, now) };
        try {
          send(res, touched);
          adopt(session, touched);
          session.events.push(opened.keyIndex > 0 ? "rotated-secret" : "touched");
        } catch (error) {
          if (!(error instanceof SessionTooLargeError)) throw error;
        }
      }
      return session;
    },

    async change(session, res, mutate) {
      const now = clock.now();
      const created = session.id === null;
      const base: Sealed = created
        ? { id: newSessionId(), data: { cart: [] }, userId: null, createdAt: now, lastSeenAt: now, expiresAt: expiryFor(now, now) }
        : sealedOf(session);
      const next: Sealed = { ...base, data: mutate(base.data), lastSeenAt: now, expiresAt: expiryFor(base.createdAt, now) };
      try {
        send(res, next); // throws before anything is sent if it would not fit: the old cookie stays as it was
      } catch (error) {
        if (error instanceof SessionTooLargeError) session.events.push("too-large");
        throw error;
      }
      adopt(session, next);
      session.events.push(created ? "created" : "saved");
    },

    async regenerate(session, res, change) {
      const now = clock.now();
      // A new nonce (so pre-login CSRF tokens die) and a new absolute lifetime; the cart comes along.
      const next: Sealed = {
        id: newSessionId(),
        data: change.data ? change.data(session.data) : session.data,
        userId: change.userId,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: expiryFor(now, now),
      };
      send(res, next);
      adopt(session, next);
      session.events.push("regenerated");
    },

    async destroy(session, res) {
      // All we can do: tell this browser to forget. A copy made earlier stays valid until it expires.
      clear(res);
      Object.assign(session, fresh([...session.events, "destroyed"]));
    },
  };
}
