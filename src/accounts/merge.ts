/**
 * Two carts become one at sign-in: the guest's cart (in the session) and the account's saved
 * cart (kept from the account's earlier sessions). Pure functions: no I/O, the catalog's
 * products are passed in, so every rule and every message is unit-tested.
 *
 * Policies differ between real shops; the shop's default is "sum":
 * - sum      quantities added up per product (nothing the shopper chose is dropped)
 * - larger   per product, the larger of the two quantities (no accidental doubling)
 * - newest   the cart changed most recently wins whole
 * - account  the saved cart wins whole when it has anything in it
 * Whatever the policy, the result obeys the cart's rules: at most MAX_PER_LINE of a product, never
 * more than the stock, sold-out or removed products dropped, at most MAX_LINES lines. Every
 * adjustment becomes a sentence the shopper sees.
 */
import { MAX_LINES, MAX_PER_LINE } from "../cart/cart.ts";
import type { CartLine } from "../session/types.ts";

export const MERGE_POLICIES = ["sum", "larger", "newest", "account"] as const;
export type MergePolicy = (typeof MERGE_POLICIES)[number];

export interface MergeProduct {
  id: number;
  name: string;
  stock: number;
}

export interface MergeInput {
  guest: readonly CartLine[];
  saved: readonly CartLine[];
  /** When each cart last changed (epoch ms), for "newest". */
  guestChangedAt?: number | null;
  savedChangedAt?: number | null;
  policy: MergePolicy;
  /** The product, or undefined when it is no longer in the catalog. */
  product: (id: number) => MergeProduct | undefined;
}

export interface MergeResult {
  cart: CartLine[];
  /** One sentence per adjustment, in cart order ("Stoneware Mug: 2 + 1 → 3"). */
  adjustments: string[];
}

/** Sum of lines per product, first appearance first; notes: the first non-empty one wins. */
export function sumLines(...carts: (readonly CartLine[])[]): CartLine[] {
  const byId = new Map<number, CartLine>();
  for (const cart of carts) {
    for (const line of cart) {
      const seen = byId.get(line.productId);
      if (!seen) byId.set(line.productId, { ...line });
      else {
        const note = seen.note ?? line.note;
        byId.set(line.productId, { productId: seen.productId, quantity: seen.quantity + line.quantity, ...(note === undefined ? {} : { note }) });
      }
    }
  }
  return [...byId.values()];
}

export function mergeCarts(input: MergeInput): MergeResult {
  const { guest, saved, policy, product } = input;
  const adjustments: string[] = [];
  const guestQty = new Map(guest.map((l) => [l.productId, l.quantity]));
  const savedQty = new Map(saved.map((l) => [l.productId, l.quantity]));

  let combined: CartLine[];
  switch (policy) {
    case "sum":
      combined = sumLines(guest, saved);
      break;
    case "larger":
      combined = sumLines(guest, saved).map((l) => ({ ...l, quantity: Math.max(guestQty.get(l.productId) ?? 0, savedQty.get(l.productId) ?? 0) }));
      break;
    case "newest": {
      const savedWins = guest.length === 0 || (saved.length > 0 && (input.savedChangedAt ?? 0) > (input.guestChangedAt ?? 0));
      combined = (savedWins ? saved : guest).map((l) => ({ ...l }));
      if (guest.length > 0 && saved.length > 0) {
        adjustments.push(
          savedWins ? "Your saved cart was newer, so it replaced this visit's cart." : "This visit's cart was newer, so it replaced your saved cart.",
        );
      }
      break;
    }
    case "account":
      combined = (saved.length > 0 ? saved : guest).map((l) => ({ ...l }));
      if (guest.length > 0 && saved.length > 0) adjustments.push("Your saved cart replaced this visit's cart.");
      break;
  }

  const cart: CartLine[] = [];
  for (const line of combined) {
    const p = product(line.productId);
    if (!p) {
      adjustments.push("A product from your saved cart is no longer sold and was removed.");
      continue;
    }
    if (p.stock <= 0) {
      adjustments.push(`${p.name} was sold out and was removed.`);
      continue;
    }
    if (cart.length >= MAX_LINES) {
      adjustments.push(`${p.name} was left out: a cart holds at most ${MAX_LINES} different products.`);
      continue;
    }
    const g = guestQty.get(line.productId);
    const s = savedQty.get(line.productId);
    let quantity = line.quantity;
    const limit = Math.min(MAX_PER_LINE, p.stock);
    if (quantity > limit) {
      quantity = limit;
      adjustments.push(
        p.stock < MAX_PER_LINE && p.stock <= line.quantity
          ? `${p.name} reduced to ${quantity}: only ${p.stock} left.`
          : `${p.name} reduced to ${quantity}: at most ${MAX_PER_LINE} per product.`,
      );
    } else if (policy === "sum" && g !== undefined && s !== undefined) {
      adjustments.push(`${p.name}: ${g} + ${s} → ${quantity}`);
    } else if (policy === "larger" && g !== undefined && s !== undefined && g !== s) {
      adjustments.push(`${p.name}: kept the larger quantity, ${quantity} (not ${Math.min(g, s)}).`);
    }
    cart.push({ ...line, quantity });
  }
  return { cart, adjustments };
}
