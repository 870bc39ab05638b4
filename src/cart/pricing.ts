/**
 * priceCart: turns the session's lines (IDs and quantities) into what the cart page shows,
 * with names and prices read from the catalog now. Totals are computed, never stored.
 */
import type { CartLine } from "../session/types.ts";
import type { Product } from "../catalog/catalog.ts";

export interface PricedLine {
  product: Product;
  quantity: number;
  note: string;
  lineTotalCents: number;
  /** More in the cart than is in stock now (someone bought them meanwhile). */
  shortBy: number;
}

export interface PricedCart {
  lines: PricedLine[];
  itemCount: number;
  subtotalCents: number;
}

export function priceCart(cart: readonly CartLine[], products: ReadonlyMap<number, Product>): PricedCart {
  const lines: PricedLine[] = [];
  for (const line of cart) {
    const product = products.get(line.productId);
    if (!product) continue; // a product removed from the catalog drops out of the cart
    lines.push({
      product,
      quantity: line.quantity,
      note: line.note ?? "",
      lineTotalCents: product.priceCents * line.quantity,
      shortBy: Math.max(0, line.quantity - product.stock),
    });
  }
  return {
    lines,
    itemCount: lines.reduce((n, l) => n + l.quantity, 0),
    subtotalCents: lines.reduce((n, l) => n + l.lineTotalCents, 0),
  };
}
