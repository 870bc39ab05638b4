/**
 * The listings the account page ("your active sessions") and the instructor dashboard need.
 * Not part of the lifecycle: storage.ts and the cleanup job never use them. Every server-side
 * store implements both faces (ServerStore); the contract suite tests both on each.
 */
import type { SessionStore, StoredSession } from "./types.ts";

/** A record as listed for its owner ("your active sessions"). */
export interface ListedSession extends StoredSession {
  key: string;
}

export interface SessionDirectory {
  /** The live sessions of one user, most recently seen first. */
  listByUser(userId: number, now: number): Promise<ListedSession[]>;
  /**
   * Delete sessions of one user: only the one with key `only`, or all but `except`, or all.
   * Returns how many were deleted. A key that belongs to someone else is never touched.
   */
  destroyForUser(userId: number, filter: { only?: string; except?: string }): Promise<number>;
  /** The instructor view: stored records, live or expired-not-yet-swept, most recently seen first. */
  listAll(limit: number): Promise<ListedSession[]>;
  /**
   * How many records are stored: live at `now`, and expired but still waiting for the cleanup job;
   * for a bounded store (memory), its bound and how many new sessions it refused when full.
   */
  stats(now: number): Promise<{ live: number; expired: number; capacity?: { max: number; refused: number } }>;
}

/** A server-side store: the lifecycle's face and the listings' face. */
export type ServerStore = SessionStore & SessionDirectory;
