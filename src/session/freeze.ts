/**
 * Frozen records, for what hands one object to many requests (the memory store, the remembered
 * seals, the cookie technique's opened cookies): a caller that tries to change it in place gets a
 * TypeError instead of silently changing everyone's copy. The caller's own objects are never frozen.
 */
import type { StoredData, StoredSession } from "./types.ts";

/** Freezes a value and everything in it. */
export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
};

/** A frozen copy of a record: sealed data is one string; a plaintext (legacy) cart is cloned. */
export const frozenCopy = (s: StoredSession): StoredSession => {
  const data: StoredData = "sealed" in s.data ? { sealed: s.data.sealed } : structuredClone(s.data);
  return deepFreeze({ ...s, data });
};
