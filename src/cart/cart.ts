/**
 * Cart rules as pure functions over CartLine[]: no I/O, no session, so they are easy to test
 * and the same rules hold whichever session technique stores the cart.
 *
 * Rules the server enforces (the browser's min/max attributes are only a convenience):
 * 1..10 of a product per line, never more than the stock, at most MAX_LINES lines.
 */
import type { CartLine } from "../session/types.ts";

export const MAX_PER_LINE = 10;
/** Bounds what one visitor can make the server store (a full cart is about 2 KB of JSON). */
export const MAX_LINES = 60;

export type CartResult = { ok: true; cart: CartLine[] } | { ok: false; message: string };

/**
 * A quantity from a form field: a whole number 1..10 written in plain digits.
 * "0", "-1", "1.5", "1e1", " 2", "two", "" and arrays are all refused with a message.
 */
export function parseQuantity(input: unknown): { ok: true; quantity: number } | { ok: false; message: string } {
  if (typeof input !== "string" || !/^\d{1,3}$/.test(input)) {
    return { ok: false, message: `Quantity must be a whole number from 1 to ${MAX_PER_LINE}.` };
  }
  const quantity = Number(input);
  if (quantity < 1 || quantity > MAX_PER_LINE) {
    return { ok: false, message: `Quantity must be a whole number from 1 to ${MAX_PER_LINE}.` };
  }
  return { ok: true, quantity };
}

interface Stocked {
  id: number;
  name: string;
  stock: number;
}

function checkQuantity(product: Stocked, quantity: number): string | null {
  if (product.stock === 0) return `Sorry, ${product.name} is sold out.`;
  if (quantity > product.stock) {
    return `Only ${product.stock} of ${product.name} left in stock; your cart would have ${quantity}.`;
  }
  if (quantity > MAX_PER_LINE) {
    return `You can have at most ${MAX_PER_LINE} of ${product.name} in your cart; it would have ${quantity}.`;
  }
  return null;
}

export function addItem(cart: readonly CartLine[], product: Stocked, quantity: number): CartResult {
  const existing = cart.find((l) => l.productId === product.id);
  const total = (existing?.quantity ?? 0) + quantity;
  const problem = checkQuantity(product, total);
  if (problem) return { ok: false, message: problem };
  if (!existing && cart.length >= MAX_LINES) {
    return { ok: false, message: `A cart can hold at most ${MAX_LINES} different products.` };
  }
  return {
    ok: true,
    cart: existing ? cart.map((l) => (l.productId === product.id ? { ...l, quantity: total } : l)) : [...cart, { productId: product.id, quantity }],
  };
}

export function setQuantity(cart: readonly CartLine[], product: Stocked, quantity: number): CartResult {
  if (!cart.some((l) => l.productId === product.id)) {
    return { ok: false, message: `${product.name} is not in your cart.` };
  }
  const problem = checkQuantity(product, quantity);
  if (problem) return { ok: false, message: problem };
  return { ok: true, cart: cart.map((l) => (l.productId === product.id ? { ...l, quantity } : l)) };
}

export function removeItem(cart: readonly CartLine[], productId: number): CartLine[] {
  return cart.filter((l) => l.productId !== productId);
}

export function countItems(cart: readonly CartLine[]): number {
  return cart.reduce((n, l) => n + l.quantity, 0);
}

/** A gift note is plain text: at most this many characters, shown escaped. */
export const MAX_NOTE_LENGTH = 200;

/** Set (or clear, with "") the gift note of a line. Control characters are refused, newlines too. */
export function setNote(cart: readonly CartLine[], productId: number, input: unknown): CartResult {
  if (typeof input !== "string") return { ok: false, message: "A gift note must be text." };
  const note = input.trim();
  if (note.length > MAX_NOTE_LENGTH) return { ok: false, message: `A gift note can have at most ${MAX_NOTE_LENGTH} characters.` };
  if (/[\u0000-\u001f\u007f]/.test(note)) return { ok: false, message: "A gift note must fit on one line, without control characters." };
  if (!cart.some((l) => l.productId === productId)) return { ok: false, message: "That product is not in your cart." };
  return {
    ok: true,
    cart: cart.map((l) => {
      if (l.productId !== productId) return l;
      const { note: _old, ...rest } = l;
      return note === "" ? rest : { ...rest, note };
    }),
  };
}
