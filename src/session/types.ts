/**
 * The session contract, in two levels (after React Router's session storage and Lucia):
 * a SessionStore (stores/) keeps records under a key and knows nothing about HTTP; a
 * SessionStorage (storage.ts) owns the cookie and the lifecycle on top of any store.
 *
 * Stores are keyed by sha256(session ID), never by the ID itself, and the data is sealed under a
 * key only the ID gives (seal.ts): whoever reads the store (a backup, a log of SQL, a curious
 * admin) learns nothing they could put in a cookie, and sees no carts.
 */
import type { Request, Response } from "express";

/** One line of the cart: IDs and quantities only. Names and prices come from the catalog at render time. */
export interface CartLine {
  readonly productId: number;
  readonly quantity: number;
  /** An optional gift note for this line (at most 200 characters). Shown escaped, never as HTML. */
  readonly note?: string;
}

/**
 * What we remember about one visitor. Small and JSON-safe; totals are never stored. Read-only: a
 * change is a new object returned from `mutate` (storage.ts), and the data a request loads may be
 * shared with other requests and frozen (technique.ts can remember what a record opened to).
 */
export interface SessionData {
  readonly cart: readonly CartLine[];
}

/** Session data as a store keeps it: sealed (seal.ts), or plaintext in a record from before sealing. */
export type StoredData = SessionData | { sealed: string };

/** A store's record for one session. All times are epoch milliseconds. Read-only: the memory store hands out frozen records. */
export interface StoredSession {
  readonly data: StoredData;
  /** The signed-in user, or null for a guest. A separate column, never the session key. */
  readonly userId: number | null;
  /** The absolute timeout counts from here. */
  readonly createdAt: number;
  /** The idle timeout counts from here; moved forward by (throttled) touches and by every change. */
  readonly lastSeenAt: number;
  /** min(lastSeenAt + idle, createdAt + absolute): after this the record is dead. */
  readonly expiresAt: number;
  /** The browser that started this session (truncated), so a shopper can tell their devices apart. */
  readonly userAgent: string | null;
}

/**
 * `once`: the change has an effect outside the record (checkout places an order): run it exactly once,
 * on the freshest record, only after the store has answered (a frozen Redis fails before any order).
 */
export type UpdateOptions = { once?: boolean };

/**
 * What the lifecycle (storage.ts) and the cleanup job need: records under a key. Every store (SQLite,
 * memory, Redis) implements this and SessionDirectory; store-contract.test.ts runs the same tests on each.
 */
export interface SessionStore {
  readonly kind: Technique;
  /** The record, or null when the key is unknown or the record expired at `now`. Never throws for that. */
  get(key: string, now: number): Promise<StoredSession | null>;
  /** Even an expired record not swept yet: only to explain what happened, never to adopt a session. */
  peek(key: string): Promise<StoredSession | null>;
  /** Insert a brand-new record. Keys come from 32 random bytes, so a collision means a bug: it throws. */
  create(key: string, session: StoredSession): Promise<void>;
  /**
   * Atomic read-modify-write: what is written is `change` applied to the record as it is at the moment
   * of writing, so two concurrent requests never lose each other's changes. Null (nothing changed) when
   * the record is gone or expired: never re-created, so a request racing a logout cannot revive it. If
   * `change` throws, nothing is written. It may run more than once (Redis tries the copy it remembers
   * first, in one round trip, and discards that result when the copy was outdated): keep it pure, or `once`.
   */
  update(key: string, now: number, change: (current: StoredSession) => StoredSession, options?: UpdateOptions): Promise<StoredSession | null>;
  /** Login: atomically move the freshest record to `newKey`, changed, deleting `oldKey`. Null when `oldKey` is gone. */
  rekey(oldKey: string, newKey: string, now: number, change: (current: StoredSession) => StoredSession): Promise<StoredSession | null>;
  /** Move last-seen and expiry forward. Only updates an existing record; false when there was none. */
  touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean>;
  /** Delete one record. Deleting an unknown key is not an error. */
  destroy(key: string): Promise<void>;
  /** Delete at most `limit` records that expired at or before `now`; returns how many. The cleanup job loops. */
  deleteExpired(now: number, limit: number): Promise<number>;
}

/**
 * What happened to the session in this request, in order (the X-ray's sentences, the tests' facts).
 * A map, not a union, so that the classroom's labs can add events by declaration merging.
 */
export interface SessionEvents {
  "no-cookie": true;
  "bad-signature": true;
  "malformed-id": true;
  "unknown-id": true;
  "expired-idle": true;
  "expired-absolute": true;
  loaded: true;
  touched: true;
  created: true;
  saved: true;
  regenerated: true;
  destroyed: true;
  "ended-meanwhile": true;
  "too-large": true;
  "rotated-secret": true;
  unreadable: true;
}
export type SessionEvent = keyof SessionEvents;

/**
 * The techniques of the source texts, plus Redis and PostgreSQL for scale (stores many machines share),
 * and "student": a store a student wrote in the graded exercises (SESSION_STORE=./their-store.ts).
 */
export type Technique = "sqlite" | "memory" | "cookie" | "redis" | "postgres" | "student";

/** The cookie and the lifecycle (storage.ts over a store; cookie-storage.ts): routes only use these four calls. */
export interface SessionStorage {
  readonly technique: Technique;
  readonly cookieName: string;
  /** Missing, bad or expired cookie → a fresh empty session (never throws for those). */
  load(req: Request, res: Response): Promise<Session>;
  /** The only way to write: atomic on the freshest data (`mutate` pure, or `once`); creates the session on first use. */
  change(session: Session, res: Response, mutate: (data: SessionData) => SessionData, options?: UpdateOptions): Promise<void>;
  /** Login: the same data (or `data(current)`, e.g. merged with a saved cart) under a brand-new ID. */
  regenerate(session: Session, res: Response, change: { userId: number | null; data?: (current: SessionData) => SessionData }): Promise<void>;
  destroy(session: Session, res: Response): Promise<void>;
}

/** The session as seen by one request. */
export interface Session {
  /** The random ID from the cookie, or null until something is stored. Never log or render it. */
  id: string | null;
  /** sha256(id) in hex: the store's key. */
  key: string | null;
  data: SessionData;
  userId: number | null;
  createdAt: number | null;
  lastSeenAt: number | null;
  expiresAt: number | null;
  events: SessionEvent[];
  /** The cookie named a session that has ended: its key, and its record if the store still had it (to say why). */
  ended?: { key: string; record: StoredSession | null };
}
