/**
 * Checkout (signed-in shoppers only) and order history. Two writes to two places: the order (its
 * lines, the stock decrements) in one transaction of the shop's database, SQLite or PostgreSQL;
 * then the emptied cart in the session store — Redis, PostgreSQL, the SQLite file, the cookie in
 * the answer. The two can come apart: the store fails between them, the answer is lost on its
 * way, the connection is cut just after the order's COMMIT. So checkout is idempotent: the form carries a random checkout token,
 * the order remembers it (UNIQUE per shopper), and a retry of the same form lands on the order
 * already placed instead of placing another. And when the session store fails after the order
 * was committed, the shopper is sent to the order, not to a 503 that says nothing was saved.
 */
import { randomBytes } from "node:crypto";
import type { Response } from "express";
import { Router } from "express";
import { z } from "zod";
import { priceCart } from "../cart/pricing.ts";
import { notFound } from "../errors.ts";
import { requireUser, userOf } from "../middleware/require-user.ts";
import type { PlaceOrderResult, ShortLine } from "../orders/orders.ts";
import { SessionEndedError } from "../session/errors.ts";
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

export function checkoutRoutes({ catalog, orders, sessions, store, flash, clock }: RouteDeps): Router {
  const router = Router();

  const pricedCartOf = async (cart: readonly { productId: number; quantity: number }[]) =>
    priceCart(cart, await catalog.productsByIds(cart.map((l) => l.productId)));

  interface CheckoutPage {
    values?: Record<string, string>;
    errors?: Record<string, string>;
    short?: ShortLine[];
    /** A message about the form as a whole (a missing or stale checkout token). */
    notice?: string;
    checkoutToken?: string;
  }
  const renderCheckout = async (res: Response, cart: readonly CartLine[], page: CheckoutPage = {}) =>
    res.render("checkout", {
      title: "Checkout",
      cart: await pricedCartOf(cart),
      values: page.values ?? {},
      errors: page.errors ?? {},
      short: page.short ?? [],
      notice: page.notice ?? null,
      // The same token while nothing was placed with it (a form with errors, stock that ran out).
      checkoutToken: page.checkoutToken ?? newCheckoutToken(),
    });

  router.get("/checkout", requireUser, async (req, res) => {
    if ((await pricedCartOf(req.session.data.cart)).lines.length === 0) {
      flash.set(res, "info", "Your cart is empty: add something before checking out.");
      res.redirect(303, "/cart");
      return;
    }
    await renderCheckout(res, req.session.data.cart);
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
      await renderCheckout(res, req.session.data.cart, { values, notice: "Please review your order and press Place order again." });
      return;
    }
    const token = tokenParsed.data;
    const parsed = checkoutSchema(new Date(clock.now())).safeParse(form);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
      res.status(400);
      await renderCheckout(res, req.session.data.cart, { values, errors, checkoutToken: token });
      return;
    }
    const { name, address, card } = parsed.data;
    // The shop finds nothing here: stock is checked and taken in one statement, inside the order's
    // transaction below. (The step exists for a classroom lab's slow, separate check: orders.ts.)
    const shortBefore = await orders.beforePlacing(req.session.data.cart);
    if (shortBefore.length > 0) {
      res.status(409);
      await renderCheckout(res, req.session.data.cart, { values, short: shortBefore, checkoutToken: token });
      return;
    }
    // 0. The session store answers, and still has this session, before anything is placed: a store
    // that is down or frozen fails here (the 503 page, and it is true that nothing was saved), and a
    // session signed out in another tab meanwhile places no order. One read, on checkout only.
    if (store && req.session.key !== null && (await store.get(req.session.key, clock.now())) === null) throw new SessionEndedError();
    // 1. The order, in a transaction of its own in the shop's database (SQLite or PostgreSQL): once
    // per checkout token, however many times this form arrives, on however many instances. A busy
    // SQLite lock is waited out by the data layer (db/sql.ts: a busy BEGIN has changed nothing).
    let result: PlaceOrderResult;
    try {
      result = await orders.place(userId, req.session.data.cart, { name, address, cardLast4: card.slice(-4) }, clock.now(), token);
    } catch (error) {
      // Did the COMMIT land although its answer was lost (a connection cut just then)? Then the
      // order is placed, and "nothing was saved" would be a lie that invites a second order.
      const placed = await orders.findByToken(userId, token).catch(() => null); // the database failing too: the error page it is (a retry stays safe)
      if (!placed?.ok) throw error;
      result = { ...placed, alreadyPlaced: false }; // placed by this very request: "Thank you", not "already placed"
    }
    // 2. The cart, in the session store (whichever technique): emptied of what was ordered. This is
    // a second write to a second place, and can fail after step 1 committed: the shopper is then sent
    // to the order, and a retry of the form finds it (step 1) instead of placing another.
    let cartKept = false;
    if (result.ok) {
      const ordered = result;
      try {
        // `once`, though the change is pure: checkout's write takes the stores' locked path (Redis's
        // lock, PostgreSQL's SELECT … FOR UPDATE transaction), never a blind compare-and-set retry.
        await sessions.change(
          req.session,
          res,
          (data) => {
            // A retry: empty the cart only if it still holds exactly that order (the first attempt's
            // cart write was lost). Anything else was put there since, and is not part of the order.
            if (data.cart.length > 0 && !sameLines(data.cart, ordered.lines)) {
              cartKept = true;
              return data;
            }
            return { ...data, cart: [] };
          },
          { once: true },
        );
      } catch {
        flash.set(
          res,
          "info",
          `Order #${ordered.orderId} is placed, and you will not be charged twice. ` +
            "We couldn't empty your cart just now, so it may still show these items: there is no need to order them again.",
        );
        res.redirect(303, `/orders/${ordered.orderId}`);
        return;
      }
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
    await renderCheckout(res, req.session.data.cart, { values, short: result.short, checkoutToken: token });
  });

  router.get("/orders", requireUser, async (_req, res) => {
    res.render("orders", { title: "Your orders", orders: await orders.listForUser(userOf(res).id) });
  });

  router.get("/orders/:id", requireUser, async (req, res) => {
    const raw = String(req.params.id);
    const id = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    const order = Number.isNaN(id) ? undefined : await orders.getForUser(userOf(res).id, id);
    if (!order) throw notFound("order");
    res.render("order", { title: `Order #${order.id}`, order });
  });

  return router;
}
