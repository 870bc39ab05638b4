/**
 * Lab 14, the last unit: the broken way to take stock, for the classroom only. "Check, then
 * decrement" in two steps: read the stock before the order's transaction, wait (a payment
 * provider, a slow disk: here 2 s, so two shoppers who press "Place order" together both land in
 * the window), then lower the stock without asking again. Both checks saw 1 left; both orders go
 * through.
 *
 * The products table refuses a negative stock (CHECK (stock >= 0), db/migrations/001), so the
 * broken decrement clamps at 0 — CASE WHEN stock > n THEN stock - n ELSE 0 END — and the unit it did not have is simply sold:
 * "oversold by 1". The shop's way (conditionalStock in src/orders/orders.ts) is one statement,
 * `UPDATE … SET stock = stock - n WHERE id = ? AND stock >= n`, inside the order's transaction: the
 * check and the decrement cannot be separated, so exactly one of the two orders gets the unit.
 *
 * Honest while the switch is off: every call goes to the shop's own StockKeeping.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Sql } from "../db/sql.ts";
import { conditionalStock, type ShortLine, type StockKeeping } from "../orders/orders.ts";
import type { LabModes } from "./vulnerable-storage.ts";

export const LAST_UNIT_WAIT_MS = 2000;

export function labStock(db: Sql, modes: LabModes, waitMs = LAST_UNIT_WAIT_MS): StockKeeping {
  const honest = conditionalStock();
  return {
    async beforePlacing(cart) {
      if (!modes.checkThenDecrement) return honest.beforePlacing(cart);
      // Step 1, the check, outside any transaction: a snapshot that is stale the moment it is read.
      const short: ShortLine[] = [];
      for (const line of cart) {
        const p = await db.get<{ id: number; name: string; stock: number }>("SELECT id, name, stock FROM products WHERE id = ?", [line.productId]);
        if (p && p.stock < line.quantity) short.push({ productId: p.id, name: p.name, requested: line.quantity, available: p.stock });
      }
      if (short.length > 0) return short;
      await sleep(waitMs); // the window: another shopper's check passes meanwhile
      return [];
    },
    async take(tx, productId, quantity) {
      if (!modes.checkThenDecrement) return honest.take(tx, productId, quantity);
      // Step 2, the decrement, trusting the check made 2 s ago: no condition, so it always "succeeds".
      return (await tx.run("UPDATE products SET stock = CASE WHEN stock > ? THEN stock - ? ELSE 0 END WHERE id = ?", [quantity, quantity, productId])) > 0;
    },
  };
}
