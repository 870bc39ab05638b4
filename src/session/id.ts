/**
 * Session IDs: 32 bytes (256 bits) from the operating system's CSPRNG, base64url-encoded.
 * Unguessable is the whole point: an ID is a bearer token, and anyone who can guess one
 * owns that cart (or that account). Never a counter, a timestamp or a user ID.
 *
 * The store never sees the ID itself, only its SHA-256 (hashSessionId). A fast hash is
 * enough here, unlike for passwords: the input already has 256 bits of entropy.
 */
import { createHash, randomBytes } from "node:crypto";

const ID_BYTES = 32;
/** 32 bytes in base64url are exactly 43 characters from this alphabet. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const newSessionId = (): string => randomBytes(ID_BYTES).toString("base64url");

/** Anything else in the cookie (even correctly signed) is treated as "no session". */
export const isWellFormedSessionId = (value: unknown): value is string => typeof value === "string" && ID_PATTERN.test(value);

export const hashSessionId = (id: string): string => createHash("sha256").update(id).digest("hex");

/** A short, non-reversible label for showing "which session" on screen or in tests without revealing it. */
export const fingerprint = (key: string): string => key.slice(0, 8);

/** How IDs are made and recognised. The storage is given one; this is the only honest one. */
export interface SessionIds {
  generate(): string | Promise<string>;
  isWellFormed(value: unknown): value is string;
}

export const randomIds: SessionIds = { generate: newSessionId, isWellFormed: isWellFormedSessionId };
