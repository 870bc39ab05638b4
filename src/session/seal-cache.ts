/**
 * Remembered seals (issue 16): each recent session's derived key, and the data its record last
 * opened to or was sealed from.
 *
 * Deriving the key (HKDF, then a KeyObject) and opening the record were the largest items of a page
 * view in the CPU profile (hkdfSync alone took 9.5 % of the server's time). Both are pure functions:
 * of the ID, and of the sealed text. So the key is derived once per ID, and a record whose sealed
 * text is *exactly* the one last opened or written under that ID gives the same data without
 * decrypting again. Any other text (changed, moved from another row, another ID's, a legacy
 * plaintext record) is opened and authenticated as before.
 *
 * What is remembered lives only in this process's memory, which already holds the IDs of recent
 * cookies (cookie-verifier.ts): nothing of it is written anywhere, so the store at rest stays sealed.
 * The data is frozen, because every request of that session shares the object until the next write.
 */
import { randomBytes } from "node:crypto";
import { bounded, REMEMBERED } from "./cookie-verifier.ts";
import { sealFor } from "./seal.ts";
import type { SessionData } from "./types.ts";

export type Seal = ReturnType<typeof sealFor>;

/**
 * Nonces cut from one draw of the CSPRNG. randomBytes(12) costs about 4.5 µs of CPU per call here
 * (a call into OpenSSL's locked generator; 3 % of a write in the profile), a slice of a pool
 * 0.1–0.2 µs. The bytes are the same generator's; each slice is handed out once, so no nonce repeats.
 */
export function nonceSource(batch = 256): () => Buffer {
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + NONCE_BYTES > pool.length) {
      pool = randomBytes(NONCE_BYTES * batch);
      at = 0;
    }
    at += NONCE_BYTES;
    return pool.subarray(at - NONCE_BYTES, at);
  };
}
const NONCE_BYTES = 12;

/** Freezes a value and everything in it: shared data that must not be changed in place. */
export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
};

/**
 * What the remembered seals may hold in all. An entry costs about 1 KiB (the key, the closures, the
 * map's entry) plus its sealed text and the data opened from it, together about twice the text
 * (bench/cache-memory.ts: 1.3 KB for a three-line cart, 36 KB for the largest the shop allows). So
 * 10,000 ordinary shoppers fit (≈ 13 MB), and 10,000 full carts cannot take 360 MB: the oldest go.
 */
export const SEALS_MAX_BYTES = 24 * 1024 * 1024;
type Remembered = Seal & { readonly bytes: number };

/** `sealFor` with memory: the same seal for the same ID (its store key is sha256 of it), at most `max` of them and `maxBytes` in all. */
export function createSeals(max = REMEMBERED, maxBytes = SEALS_MAX_BYTES): (id: string, storeKey: string) => Seal {
  const seals = bounded<string, Remembered>(max, { maxBytes, sizeOf: (s) => s.bytes });
  const nonces = nonceSource();
  return (id, storeKey) => {
    const known = seals.get(id);
    if (known) return known;
    const seal = sealFor(id, storeKey, nonces);
    let text: string | undefined;
    let data: SessionData | null = null;
    const remember = (sealed: string, opened: SessionData) => {
      text = sealed;
      data = deepFreeze(opened);
      seals.set(id, remembered); // counted again at its new size
    };
    const remembered: Remembered = {
      get bytes() {
        return 1024 + 2 * (text?.length ?? 0);
      },
      seal(next) {
        const stored = seal.seal(next);
        remember((stored as { sealed: string }).sealed, next);
        return stored;
      },
      open(stored) {
        if ("sealed" in stored && stored.sealed === text) return data;
        const opened = seal.open(stored);
        if (opened && "sealed" in stored) remember(stored.sealed, opened);
        return opened;
      },
    };
    seals.set(id, remembered);
    return remembered;
  };
}
