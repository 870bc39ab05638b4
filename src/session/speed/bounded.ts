/**
 * The one bounded map of the speed-ups (remembered cookies, seals, the cookie technique's opened
 * cookies): insertion order, the oldest entry forgotten first beyond `max`. It only ever holds
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

/** A Map that forgets its oldest entry beyond `max`. Only ever holds values we computed ourselves. */
export function bounded<K, V>(max: number) {
  const map = new Map<K, V>();
  return {
    get: (key: K) => map.get(key),
    set(key: K, value: V) {
      if (map.size >= max) map.delete(map.keys().next().value as K);
      map.set(key, value);
    },
    get size() {
      return map.size;
    },
  };
}
