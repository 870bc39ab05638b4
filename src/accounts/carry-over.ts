/**
 * At sign-in, the account's saved cart comes back: claim the rows of the account's *ended*
 * sessions, merge them with the guest's cart by the current policy, and hand the result to
 * sessions.regenerate (which applies it to the freshest guest cart, atomically with the new ID).
 *
 * "Ended" is asked of the store where there is one (Redis may have expired a key by itself, the
 * memory store may have restarted); a row whose session is alive belongs to another device that
 * is still signed in, and stays its own. The cookie technique has no store to ask: a cookie that
 * is still within its time may be in use elsewhere, so only sessions signed out, ended on purpose
 * or past their expiry count as ended.
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { Clock } from "../clock.ts";
import type { ServerStore } from "../session/directory.ts";
import type { CartLine, SessionData } from "../session/types.ts";
import { type MergePolicy, mergeCarts, sumLines } from "./merge.ts";
import type { SavedCartRow, SavedCarts } from "./saved-carts.ts";

export interface CarryOverDeps {
  savedCarts: SavedCarts;
  store: ServerStore | null;
  catalog: Catalog;
  clock: Clock;
  /** The merge policy in force (the classroom can switch it for a lesson). */
  policy: () => MergePolicy;
}

export interface Claimed {
  rows: SavedCartRow[];
  /** Applies the merge to the guest cart as it is at the moment of the sign-in's write. */
  merge: (current: SessionData) => SessionData;
  /** Filled by `merge`: what the shopper is told. */
  adjustments: string[];
  /** How many items came back from the saved cart. */
  restoredItems: number;
}

export type CartCarryOver = ReturnType<typeof createCartCarryOver>;

export function createCartCarryOver({ savedCarts, store, catalog, clock, policy }: CarryOverDeps) {
  const ended = async (row: SavedCartRow, now: number) => {
    if ((await savedCarts.endOf(row.sessionKey)) || row.expiresAt <= now) return true;
    return store ? (await store.get(row.sessionKey, now)) === null : false;
  };

  return {
    /** Claim the saved carts of the account's ended sessions (not `currentKey`'s own row). `guestCart`: the cart as this request loaded it. */
    async claim(userId: number, currentKey: string | null, guestChangedAt: number | null, guestCart: readonly CartLine[] = []): Promise<Claimed> {
      const now = clock.now();
      const rows: SavedCartRow[] = [];
      for (const row of await savedCarts.listForUser(userId)) {
        if (row.sessionKey === currentKey || !(await ended(row, now))) continue;
        const claimed = await savedCarts.claim(row.sessionKey, userId);
        if (claimed) rows.push(claimed);
      }
      const saved = sumLines(...rows.map((r) => r.cart));
      // The products are read now, before the sign-in's write: `merge` runs inside it and must not wait.
      const asked = new Set([...guestCart, ...saved].map((l) => l.productId));
      const products = await catalog.productsByIds([...asked]);
      const savedChangedAt = rows.reduce<number | null>((latest, r) => Math.max(latest ?? 0, r.updatedAt), null);
      const result: Claimed = {
        rows,
        adjustments: [],
        restoredItems: saved.reduce((n, l) => n + l.quantity, 0),
        merge: (current) => {
          // A line another tab added since this request read the cart was not asked about: kept as it is.
          const unasked = current.cart.filter((l) => !asked.has(l.productId));
          const guest = current.cart.filter((l) => asked.has(l.productId));
          const merged = mergeCarts({ guest, saved, guestChangedAt, savedChangedAt, policy: policy(), product: (id) => products.get(id) });
          result.adjustments = merged.adjustments;
          return { ...current, cart: [...merged.cart, ...unasked] };
        },
      };
      return result;
    },
    /** The sign-in failed after claiming: put the rows back, so nothing is lost. */
    async release(claimed: Claimed) {
      if (claimed.rows.length > 0) await savedCarts.restore(claimed.rows);
    },
  };
}
