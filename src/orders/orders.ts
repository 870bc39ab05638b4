/**
 * Orders: placing one is a single transaction that inserts the order and its lines and lowers
 * stock with "UPDATE … WHERE stock >= ?", so two shoppers racing for the last item cannot both
 * get it. If any line is short, the whole transaction rolls back: nothing is charged, no stock moves.
 *
 * Idempotent: every order carries the checkout token of the form that placed it, UNIQUE per
 * shopper (db/migrations/005). Placing again with a token already used returns that order
 * (`alreadyPlaced`) and touches nothing, so a retry (a lost answer, a double click, a 503 after
 * the commit) never charges twice.
 *
 * Written once against Sql (src/db/sql.ts), for SQLite and PostgreSQL alike. On SQLite the
 * transaction is IMMEDIATE: it takes the write lock before its first read, so a busy lock fails
 * at BEGIN having done nothing, and the route retries it. On PostgreSQL several instances place
 * orders at once: the conditional UPDATE decides each unit (row locks), the UNIQUE (user, token)
 * index decides each checkout form.
 *
 * How stock is taken is one small seam (StockKeeping): a step before the transaction, which does
 * nothing in the shop, and the per-line take inside it, the conditional UPDATE. The classroom's
 * lab 14 swaps in the broken two-step way ("check, then decrement") to show why it is one statement.
 */
import { translatingUnavailable } from "../db/unavailable.ts";
import { isUniqueViolation, type Sql } from "../db/sql.ts";
import type { CartLine } from "../session/types.ts";

export interface ShippingAndPayment {
  name: string;
  address: string;
  cardLast4: string;
}

export interface ShortLine {
  productId: number;
  name: string;
  requested: number;
  available: number;
}

export type PlaceOrderResult =
  | {
      ok: true;
      orderId: number;
      totalCents: number;
      /** true: this checkout token had placed the order before; nothing was done now. */
      alreadyPlaced: boolean;
      /** What the order holds, to tell whether a cart is still exactly this order. */
      lines: CartLine[];
    }
  | { ok: false; short: ShortLine[] };

export interface OrderSummary {
  id: number;
  totalCents: number;
  createdAt: number;
  itemCount: number;
}

export interface OrderDetail extends OrderSummary {
  shipName: string;
  shipAddress: string;
  cardLast4: string;
  lines: { productId: number; name: string; unitPriceCents: number; quantity: number }[];
}

/**
 * How an order takes its stock. The shop's (conditionalStock) checks and takes in one statement,
 * inside the order's transaction; a step before the transaction exists so that a classroom lab can
 * put a separate, slow "check" there (src/classroom/last-unit.ts).
 */
export interface StockKeeping {
  /** Before the order's transaction, outside it: lines already known to be short. The shop's: none. */
  beforePlacing(cart: readonly CartLine[]): Promise<ShortLine[]>;
  /** Inside the transaction `tx`: take `quantity` of the product; false when not that many are left now. */
  take(tx: Sql, productId: number, quantity: number): Promise<boolean>;
}

/**
 * The conditional UPDATE is the stock check: it succeeds only if enough is left right now. On
 * PostgreSQL a second instance's UPDATE of the same row waits for the first's COMMIT, then checks
 * its WHERE again against the new stock (READ COMMITTED): one statement decides, on any number of hosts.
 */
export function conditionalStock(): StockKeeping {
  return {
    beforePlacing: async () => [],
    take: async (tx, productId, quantity) =>
      (await tx.run("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?", [quantity, productId, quantity])) > 0,
  };
}

class OutOfStock extends Error {
  readonly short: ShortLine[];
  constructor(short: ShortLine[]) {
    super("out of stock");
    this.short = short;
  }
}

type ProductRow = { id: number; name: string; price_cents: number; stock: number };
type LineRow = { product_id: number; name: string; unit_price_cents: number; quantity: number };

export type Orders = ReturnType<typeof createOrders>;

export function createOrders(db: Sql, stock: StockKeeping = conditionalStock()) {
  const linesOf = (q: Sql, orderId: number) =>
    // rowid: the cart's order of lines (PostgreSQL's order_lines has a column of that name: db/migrations-postgres/003).
    q.all<LineRow>("SELECT product_id, name, unit_price_cents, quantity FROM order_lines WHERE order_id = ? ORDER BY rowid", [orderId]);

  const existing = async (q: Sql, userId: number, token: string): Promise<PlaceOrderResult | null> => {
    const o = await q.get<{ id: number; total_cents: number }>("SELECT id, total_cents FROM orders WHERE user_id = ? AND checkout_token = ?", [userId, token]);
    if (!o) return null;
    const lines = (await linesOf(q, o.id)).map((l) => ({ productId: l.product_id, quantity: l.quantity }));
    return { ok: true, orderId: o.id, totalCents: o.total_cents, alreadyPlaced: true, lines };
  };

  const placeTx = (userId: number, cart: readonly CartLine[], details: ShippingAndPayment, now: number, token: string) =>
    db.transaction(async (tx): Promise<PlaceOrderResult> => {
      // SQLite: under the write lock, so no other connection places an order with this token meanwhile.
      // PostgreSQL: another instance may be placing it right now; the UNIQUE index settles that (place()).
      const before = await existing(tx, userId, token);
      if (before) return before;
      if (cart.length === 0) return { ok: false, short: [] };
      const short: ShortLine[] = [];
      const taken = new Map<number, ProductRow>();
      // Stock rows are locked in one order (by id), whatever the cart's: two orders of the same products
      // on two instances then wait for each other instead of deadlocking (PostgreSQL's row locks).
      for (const line of [...cart].sort((a, b) => a.productId - b.productId)) {
        const p = await tx.get<ProductRow>("SELECT id, name, price_cents, stock FROM products WHERE id = ?", [line.productId]);
        if (!p) {
          short.push({ productId: line.productId, name: "A product that is no longer sold", requested: line.quantity, available: 0 });
        } else if (!(await stock.take(tx, p.id, line.quantity))) {
          // Read again: on PostgreSQL the SELECT above may predate another instance's order, which the
          // UPDATE waited for (READ COMMITTED: each statement sees what was committed when it began).
          const left = await tx.get<{ stock: number }>("SELECT stock FROM products WHERE id = ?", [p.id]);
          short.push({ productId: p.id, name: p.name, requested: line.quantity, available: left?.stock ?? 0 });
        } else {
          taken.set(p.id, p);
        }
      }
      if (short.length > 0) throw new OutOfStock(short); // rolls back every stock change above
      const priced = cart.map((l) => ({
        productId: l.productId,
        name: taken.get(l.productId)!.name,
        price: taken.get(l.productId)!.price_cents,
        quantity: l.quantity,
      }));
      const totalCents = priced.reduce((sum, l) => sum + l.price * l.quantity, 0);
      const order = await tx.get<{ id: number }>(
        "INSERT INTO orders (user_id, ship_name, ship_address, card_last4, total_cents, created_at, checkout_token) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [userId, details.name, details.address, details.cardLast4, totalCents, now, token],
      );
      const orderId = order!.id;
      for (const l of priced) {
        await tx.run("INSERT INTO order_lines (order_id, product_id, name, unit_price_cents, quantity) VALUES (?, ?, ?, ?, ?)", [
          orderId,
          l.productId,
          l.name,
          l.price,
          l.quantity,
        ]);
      }
      return { ok: true, orderId, totalCents, alreadyPlaced: false, lines: priced.map((l) => ({ productId: l.productId, quantity: l.quantity })) };
    });

  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  return translatingUnavailable({
    /** Before placing, outside any transaction (see StockKeeping): lines already known to be short. */
    beforePlacing: (cart: readonly CartLine[]): Promise<ShortLine[]> => stock.beforePlacing(cart),
    /** Place the order for `cart`, once per checkout token, in one transaction of its own. */
    async place(userId: number, cart: readonly CartLine[], details: ShippingAndPayment, now: number, token: string): Promise<PlaceOrderResult> {
      try {
        return await placeTx(userId, cart, details, now, token);
      } catch (error) {
        // The UNIQUE index: another attempt with this token (a double click reaching two instances)
        // committed first. Or it took the stock this attempt waited for. Either way: that order it is.
        if (error instanceof OutOfStock || isUniqueViolation(error)) {
          const placed = await existing(db, userId, token);
          if (placed) return placed;
          if (error instanceof OutOfStock) return { ok: false, short: error.short };
        }
        throw error;
      }
    },
    /** The order a checkout token placed, if any (after a failure, to tell the shopper the truth). */
    findByToken: (userId: number, token: string): Promise<PlaceOrderResult | null> => existing(db, userId, token),
    listForUser: async (userId: number): Promise<OrderSummary[]> =>
      (
        await db.all<{ id: number; total_cents: number; created_at: number; item_count: number }>(
          `SELECT o.id, o.total_cents, o.created_at, sum(l.quantity) AS item_count
             FROM orders o JOIN order_lines l ON l.order_id = o.id
            WHERE o.user_id = ? GROUP BY o.id ORDER BY o.created_at DESC, o.id DESC`,
          [userId],
        )
      ).map((r) => ({ id: r.id, totalCents: r.total_cents, createdAt: r.created_at, itemCount: r.item_count })),
    async getForUser(userId: number, orderId: number): Promise<OrderDetail | undefined> {
      const o = await db.get<{ id: number; total_cents: number; created_at: number; ship_name: string; ship_address: string; card_last4: string }>(
        "SELECT id, total_cents, created_at, ship_name, ship_address, card_last4 FROM orders WHERE id = ? AND user_id = ?",
        [orderId, userId],
      );
      if (!o) return undefined;
      const lines = (await linesOf(db, o.id)).map((l) => ({ productId: l.product_id, name: l.name, unitPriceCents: l.unit_price_cents, quantity: l.quantity }));
      return {
        id: o.id,
        totalCents: o.total_cents,
        createdAt: o.created_at,
        itemCount: lines.reduce((n, l) => n + l.quantity, 0),
        shipName: o.ship_name,
        shipAddress: o.ship_address,
        cardLast4: o.card_last4,
        lines,
      };
    },
  });
}
