/**
 * The one bounded map of the speed-ups (remembered cookies, seals, the cookie technique's opened
 * cookies, the Redis and PostgreSQL stores' last-seen records): insertion order, the oldest entry forgotten first beyond `max`. It only ever holds
 * values this process computed itself, so a visitor can make it forget, never lie.
 */

declare module "../types.ts" {
  /** What a memo answered on this request instead of recomputing it: the X-ray says so in words. */
  interface SessionEvents {
    /** The cookie's signature was checked at an earlier request and remembered (speed/remembered-cookie.ts). */
    "signature-remembered": true;
    /** The record's data came from this process's memory: its sealed text is exactly the one opened or written before. */
    "opened-from-memory": true;
  }
}

/** How many entries each memo keeps by default. */
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
    delete: (key: K) => drop(key),
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
