/**
 * Checkout (signed-in shoppers only) and order history. Placing the order runs inside the
 * session's atomic update: with the SQLite store, the order, its lines, the stock decrements
 * and the emptied cart are one transaction, so either all happen or none does.
 *
 * With the other techniques the order commits in SQLite before the emptied cart is written (to
 * Redis, to the cookie in the answer), and the two can come apart: Redis fails between them, the
 * answer is lost on its way. So checkout is idempotent: the form carries a random checkout token,
 * the order remembers it (UNIQUE per shopper), and a retry of the same form lands on the order
 * already placed instead of placing another. And when the session store fails after the order
 * was committed, the shopper is sent to the order, not to a 503 that says nothing was saved.
 */
import { randomBytes } from "node:crypto";
import type { Response } from "express";
import { Router } from "express";
import { retryWhileBusy } from "../db/unavailable.ts";
import { z } from "zod";
import { priceCart } from "../cart/pricing.ts";
import { notFound } from "../errors.ts";
import { requireUser, userOf } from "../middleware/require-user.ts";
import type { PlaceOrderResult, ShortLine } from "../orders/orders.ts";
import type { CartLine } from "../session/types.ts";
import type { RouteDeps } from "./deps.ts";

/** 16 random bytes, base64url: one per checkout form shown. */
const newCheckoutToken = () => randomBytes(16).toString("base64url");
const CHECKOUT_TOKEN = /^[A-Za-z0-9_-]{22}$/;

/** The same products in the same quantities (order of lines and gift notes aside). */
function sameLines(cart: readonly CartLine[], lines: readonly CartLine[]): boolean {
  const key = (ls: readonly CartLine[]) =>
    ls
      .map((l) => `${l.productId}:${l.quantity}`)
      .sort()
      .join(",");
  return key(cart) === key(lines);
}

/** Luhn checksum: catches a mistyped card number before the (fake) payment. */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const text = (field: string, max: number) =>
  z
    .string({ error: `Enter your ${field}.` })
    .trim()
    .min(1, `Enter your ${field}.`)
    .max(max, `Your ${field} can be at most ${max} characters.`);

function checkoutSchema(now: Date) {
  return z.object({
    name: text("name", 100),
    address: text("address", 300),
    card: z
      .string({ error: "Enter a card number." })
      .transform((s) => s.replace(/[\s-]/g, ""))
      .refine((s) => /^\d{12,19}$/.test(s) && luhnValid(s), "That card number is not valid (try 4242 4242 4242 4242)."),
    expiry: z
      .string({ error: "Enter the expiry date as MM/YY." })
      .trim()
      .regex(/^(0[1-9]|1[0-2])\/\d{2}$/, "Enter the expiry date as MM/YY.")
      .refine((s) => {
        const [mm, yy] = s.split("/").map(Number) as [number, number];
        return 2000 + yy > now.getUTCFullYear() || (2000 + yy === now.getUTCFullYear() && mm >= now.getUTCMonth() + 1);
      }, "That card has expired."),
    cvc: z
      .string({ error: "Enter the 3 or 4 digit security code." })
      .trim()
      .regex(/^\d{3,4}$/, "Enter the 3 or 4 digit security code."),
  });
}

const tokenSchema = z.string().regex(CHECKOUT_TOKEN);

export function checkoutRoutes({ catalog, orders, sessions, flash, clock, busyTimeoutMs }: RouteDeps): Router {
  const router = Router();

  const pricedCartOf = (cart: readonly { productId: number; quantity: number }[]) => priceCart(cart, catalog.productsByIds(cart.map((l) => l.productId)));

  interface CheckoutPage {
    values?: Record<string, string>;
    errors?: Record<string, string>;
    short?: ShortLine[];
    /** A message about the form as a whole (a missing or stale checkout token). */
    notice?: string;
    checkoutToken?: string;
  }
  const renderCheckout = (res: Response, cart: readonly CartLine[], page: CheckoutPage = {}) =>
    res.render("checkout", {
      title: "Checkout",
      cart: pricedCartOf(cart),
      values: page.values ?? {},
      errors: page.errors ?? {},
      short: page.short ?? [],
      notice: page.notice ?? null,
      // The same token while nothing was placed with it (a form with errors, stock that ran out).
      checkoutToken: page.checkoutToken ?? newCheckoutToken(),
    });

  router.get("/checkout", requireUser, (req, res) => {
    if (pricedCartOf(req.session.data.cart).lines.length === 0) {
      flash.set(res, "info", "Your cart is empty: add something before checking out.");
      res.redirect(303, "/cart");
      return;
    }
    renderCheckout(res, req.session.data.cart);
  });

  router.post("/checkout", requireUser, async (req, res) => {
    const userId = userOf(res).id;
    const form = (req.body ?? {}) as Record<string, unknown>;
    const values = { name: String(form.name ?? "").slice(0, 100), address: String(form.address ?? "").slice(0, 300) };
    const tokenParsed = tokenSchema.safeParse(form.checkoutToken);
    if (!tokenParsed.success) {
      // Not a form we rendered (an old page from before tokens, a hand-made request): nothing is
      // placed; the shopper gets the form again, with a token, and presses the button once more.
      if (req.session.data.cart.length === 0) {
        flash.set(res, "info", "Your cart is empty: add something before checking out.");
        res.redirect(303, "/cart");
        return;
      }
      res.status(400);
      renderCheckout(res, req.session.data.cart, { values, notice: "Please review your order and press Place order again." });
      return;
    }
    const token = tokenParsed.data;
    const parsed = checkoutSchema(new Date(clock.now())).safeParse(form);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
      res.status(400);
      renderCheckout(res, req.session.data.cart, { values, errors, checkoutToken: token });
      return;
    }
    const { name, address, card } = parsed.data;
    // The shop finds nothing here: stock is checked and taken in one statement, inside the order's
    // transaction below. (The step exists for a classroom lab's slow, separate check: orders.ts.)
    const shortBefore = await orders.beforePlacing(req.session.data.cart);
    if (shortBefore.length > 0) {
      res.status(409);
      renderCheckout(res, req.session.data.cart, { values, short: shortBefore, checkoutToken: token });
      return;
    }
    let result = { ok: false, short: [] } as PlaceOrderResult;
    let cartKept = false;
    try {
      // With a store other than SQLite the order's transaction runs inside the session write: when
      // another connection holds the database's write lock, the whole write is tried again from
      // the event loop (a busy attempt has changed nothing). The SQLite store retries by itself.
      // `once`: placing the order is a side effect, so it runs exactly once per attempt, and only
      // after the session store has answered (a frozen Redis fails the write before any order).
      await retryWhileBusy(
        () =>
          sessions.change(
            req.session,
            res,
            (data) => {
              result = orders.place(userId, data.cart, { name, address, cardLast4: card.slice(-4) }, clock.now(), token);
              if (!result.ok) return data;
              // A retry: empty the cart only if it still holds exactly that order (the first attempt's
              // cart write was lost). Anything else was put there since, and is not part of the order.
              if (result.alreadyPlaced && data.cart.length > 0 && !sameLines(data.cart, result.lines)) {
                cartKept = true;
                return data;
              }
              return { ...data, cart: [] }; // the cart empties in the same commit as the order (SQLite technique)
            },
            { once: true },
          ),
        busyTimeoutMs,
      );
    } catch (error) {
      // Was the order committed before the failure? (Redis technique: the store failed between the
      // SQLite commit and the cart write; or the session ended meanwhile.) Then it is placed, and
      // "nothing was saved" would be a lie that invites a second order. With the SQLite technique the
      // order rolled back with the session write, and the 503 is the truth.
      let placed: PlaceOrderResult | null = null;
      try {
        placed = orders.findByToken(userId, token);
      } catch {
        // The database is failing too: the error page it is (a retry of the form stays safe).
      }
      if (!placed?.ok) throw error;
      flash.set(
        res,
        "info",
        `Order #${placed.orderId} is placed, and you will not be charged twice. ` +
          "We couldn't empty your cart just now, so it may still show these items: there is no need to order them again.",
      );
      res.redirect(303, `/orders/${placed.orderId}`);
      return;
    }
    if (result.ok) {
      flash.set(
        res,
        "success",
        !result.alreadyPlaced
          ? `Thank you! Order #${result.orderId} is placed.`
          : `This order (#${result.orderId}) was already placed — you were not charged twice.` +
              (cartKept ? " Your cart still holds what you added since: it is not part of this order." : ""),
      );
      res.redirect(303, `/orders/${result.orderId}`);
      return;
    }
    if (result.short.length === 0) {
      flash.set(res, "info", "Your cart is empty: add something before checking out.");
      res.redirect(303, "/cart");
      return;
    }
    res.status(409);
    renderCheckout(res, req.session.data.cart, { values, short: result.short, checkoutToken: token });
  });

  router.get("/orders", requireUser, (_req, res) => {
    res.render("orders", { title: "Your orders", orders: orders.listForUser(userOf(res).id) });
  });

  router.get("/orders/:id", requireUser, (req, res) => {
    const raw = String(req.params.id);
    const id = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    const order = Number.isNaN(id) ? undefined : orders.getForUser(userOf(res).id, id);
    if (!order) throw notFound("order");
    res.render("order", { title: `Order #${order.id}`, order });
  });

  return router;
}
