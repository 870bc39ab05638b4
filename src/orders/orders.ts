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
 * The transaction is IMMEDIATE: it takes the write lock before its first read, so waiting for
 * another process's lock goes through busy_timeout. (A deferred one starts as a reader, and
 * SQLite refuses a read→write upgrade at once, SQLITE_BUSY without waiting, when another
 * connection holds the lock.) Inside another transaction (the SQLite session update) it is a
 * savepoint of that one, which is already IMMEDIATE.
 *
 * How stock is taken is one small seam (StockKeeping): a step before the transaction, which does
 * nothing in the shop, and the per-line take inside it, the conditional UPDATE. The classroom's
 * lab 14 swaps in the broken two-step way ("check, then decrement") to show why it is one statement.
 */
import { translatingUnavailable } from "../db/unavailable.ts";
import type { Db } from "../db/open.ts";
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
  /** Inside the transaction: take `quantity` of the product; false when not that many are left now. */
  take(productId: number, quantity: number): boolean;
}

export function conditionalStock(db: Db): StockKeeping {
  const takeStock = db.prepare<[number, number, number]>("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?");
  return {
    beforePlacing: async () => [],
    // The conditional UPDATE is the stock check: it succeeds only if enough is left right now.
    take: (productId, quantity) => takeStock.run(quantity, productId, quantity).changes > 0,
  };
}

class OutOfStock extends Error {
  readonly short: ShortLine[];
  constructor(short: ShortLine[]) {
    super("out of stock");
    this.short = short;
  }
}

export type Orders = ReturnType<typeof createOrders>;

export function createOrders(db: Db, stock: StockKeeping = conditionalStock(db)) {
  const product = db.prepare<[number], { id: number; name: string; price_cents: number; stock: number }>(
    "SELECT id, name, price_cents, stock FROM products WHERE id = ?",
  );
  const insertOrder = db.prepare<[number, string, string, string, number, number, string]>(
    "INSERT INTO orders (user_id, ship_name, ship_address, card_last4, total_cents, created_at, checkout_token) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const byToken = db.prepare<[number, string], { id: number; total_cents: number }>(
    "SELECT id, total_cents FROM orders WHERE user_id = ? AND checkout_token = ?",
  );
  const insertLine = db.prepare<[number, number, string, number, number]>(
    "INSERT INTO order_lines (order_id, product_id, name, unit_price_cents, quantity) VALUES (?, ?, ?, ?, ?)",
  );
  const listForUser = db.prepare<[number], { id: number; total_cents: number; created_at: number; item_count: number }>(
    `SELECT o.id, o.total_cents, o.created_at, sum(l.quantity) AS item_count
       FROM orders o JOIN order_lines l ON l.order_id = o.id
      WHERE o.user_id = ? GROUP BY o.id ORDER BY o.created_at DESC, o.id DESC`,
  );
  const oneForUser = db.prepare<
    [number, number],
    { id: number; total_cents: number; created_at: number; ship_name: string; ship_address: string; card_last4: string }
  >("SELECT id, total_cents, created_at, ship_name, ship_address, card_last4 FROM orders WHERE id = ? AND user_id = ?");
  const linesOf = db.prepare<[number], { product_id: number; name: string; unit_price_cents: number; quantity: number }>(
    "SELECT product_id, name, unit_price_cents, quantity FROM order_lines WHERE order_id = ? ORDER BY rowid",
  );

  const existing = (userId: number, token: string): PlaceOrderResult | null => {
    const o = byToken.get(userId, token);
    if (!o) return null;
    const lines = linesOf.all(o.id).map((l) => ({ productId: l.product_id, quantity: l.quantity }));
    return { ok: true, orderId: o.id, totalCents: o.total_cents, alreadyPlaced: true, lines };
  };

  const placeTx = db.transaction((userId: number, cart: readonly CartLine[], details: ShippingAndPayment, now: number, token: string): PlaceOrderResult => {
    // Under the write lock: no other connection can place an order with this token meanwhile.
    const before = existing(userId, token);
    if (before) return before;
    if (cart.length === 0) return { ok: false, short: [] };
    const short: ShortLine[] = [];
    let totalCents = 0;
    const priced: { productId: number; name: string; price: number; quantity: number }[] = [];
    for (const line of cart) {
      const p = product.get(line.productId);
      if (!p) {
        short.push({ productId: line.productId, name: "A product that is no longer sold", requested: line.quantity, available: 0 });
        continue;
      }
      if (!stock.take(p.id, line.quantity)) {
        short.push({ productId: p.id, name: p.name, requested: line.quantity, available: p.stock });
        continue;
      }
      priced.push({ productId: p.id, name: p.name, price: p.price_cents, quantity: line.quantity });
      totalCents += p.price_cents * line.quantity;
    }
    if (short.length > 0) throw new OutOfStock(short); // rolls back every stock change above
    const orderId = Number(insertOrder.run(userId, details.name, details.address, details.cardLast4, totalCents, now, token).lastInsertRowid);
    for (const l of priced) insertLine.run(orderId, l.productId, l.name, l.price, l.quantity);
    return { ok: true, orderId, totalCents, alreadyPlaced: false, lines: priced.map((l) => ({ productId: l.productId, quantity: l.quantity })) };
  });

  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  return translatingUnavailable({
    /** Before placing, outside any transaction (see StockKeeping): lines already known to be short. */
    beforePlacing: (cart: readonly CartLine[]): Promise<ShortLine[]> => stock.beforePlacing(cart),
    /**
     * Place the order for `cart`, once per checkout token. Runs as a nested transaction (a
     * savepoint) when called inside another one, e.g. the SQLite session update.
     */
    place(userId: number, cart: readonly CartLine[], details: ShippingAndPayment, now: number, token: string): PlaceOrderResult {
      try {
        return placeTx.immediate(userId, cart, details, now, token);
      } catch (error) {
        if (error instanceof OutOfStock) return { ok: false, short: error.short };
        // The UNIQUE index: a connection that did not hold the lock for the check above (it
        // cannot happen with IMMEDIATE, but the index is the guarantee) placed it first.
        if ((error as { code?: unknown }).code === "SQLITE_CONSTRAINT_UNIQUE") {
          const placed = existing(userId, token);
          if (placed) return placed;
        }
        throw error;
      }
    },
    /** The order a checkout token placed, if any (after a failure, to tell the shopper the truth). */
    findByToken: (userId: number, token: string): PlaceOrderResult | null => existing(userId, token),
    listForUser: (userId: number): OrderSummary[] =>
      listForUser.all(userId).map((r) => ({ id: r.id, totalCents: r.total_cents, createdAt: r.created_at, itemCount: r.item_count })),
    getForUser(userId: number, orderId: number): OrderDetail | undefined {
      const o = oneForUser.get(orderId, userId);
      if (!o) return undefined;
      const lines = linesOf.all(o.id).map((l) => ({ productId: l.product_id, name: l.name, unitPriceCents: l.unit_price_cents, quantity: l.quantity }));
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
