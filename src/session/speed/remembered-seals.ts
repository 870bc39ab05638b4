/**
 * Remembered seals (a speed-up composed in technique.ts, passed to storage.ts as `seals`): each
 * recent session's derived key, and the data its record last opened to or was sealed from.
 *
 * Deriving the key (HKDF, then a KeyObject) and opening the record are pure functions: of the ID,
 * and of the sealed text. So the key is derived once per ID, and a record whose sealed text is
 * *exactly* the one last opened or written under that ID gives the same data without decrypting
 * again. Any other text (changed, moved from another row, another ID's, a legacy plaintext record)
 * is opened and authenticated by seal.ts as before.
 *
 * What is remembered lives only in this process's memory: nothing of it is written anywhere, so the
 * store at rest stays sealed. The remembered data is a frozen copy, shared by every request of that
 * session until its next write; the caller's own object is left as it was.
 */
import { deepFreeze } from "../freeze.ts";
import { type Seal, sealFor } from "../seal.ts";
import type { SessionData } from "../types.ts";
import { bounded, REMEMBERED } from "./bounded.ts";

/** A seal that can say whether its last `open` was answered from memory (for the X-ray). */
export type RememberedSeal = Seal & { readonly lastOpenRemembered: boolean; readonly bytes: number };

/**
 * What the remembered seals may hold in all. An entry costs about 1 KiB (the key, the closures, the
 * map's entry) plus its sealed text and the data opened from it, together about twice the text
 * (bench/cache-memory.ts: 1.3 KB for a three-line cart, 36 KB for the largest the shop allows). So
 * 10,000 ordinary shoppers fit (≈ 13 MB), and 10,000 full carts cannot take 360 MB: the oldest go.
 */
export const SEALS_MAX_BYTES = 24 * 1024 * 1024;

/** `sealFor` with memory: the same seal for the same ID (its store key is sha256 of it), at most `max` of them and `maxBytes` in all. */
export function createRememberedSeals(
  options: { max?: number; maxBytes?: number; nonces?: () => Buffer } = {},
): (id: string, storeKey: string) => RememberedSeal {
  const seals = bounded<string, RememberedSeal>(options.max ?? REMEMBERED, { maxBytes: options.maxBytes ?? SEALS_MAX_BYTES, sizeOf: (s) => s.bytes });
  return (id, storeKey) => {
    const known = seals.get(id);
    if (known) return known;
    const seal = sealFor(id, storeKey, options.nonces);
    let text: string | undefined;
    let data: SessionData | null = null;
    let fromMemory = false;
    const remembered: RememberedSeal = {
      get bytes() {
        return 1024 + 2 * (text?.length ?? 0);
      },
      seal(next) {
        const stored = seal.seal(next);
        text = (stored as { sealed: string }).sealed;
        data = deepFreeze(structuredClone(next));
        seals.set(id, remembered); // counted again at its new size
        return stored;
      },
      open(stored) {
        fromMemory = "sealed" in stored && stored.sealed === text;
        if (fromMemory) return data;
        const opened = seal.open(stored);
        if (opened && "sealed" in stored) {
          text = stored.sealed;
          data = deepFreeze(opened);
          seals.set(id, remembered); // counted again at its new size
        }
        return opened;
      },
      get lastOpenRemembered() {
        return fromMemory;
      },
    };
    seals.set(id, remembered);
    return remembered;
  };
}
