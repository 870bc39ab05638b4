/**
 * Checkout (signed-in shoppers only) and order history. Placing the order runs inside the
 * session's atomic update: with the SQLite store, the order, its lines, the stock decrements
 * and the emptied cart are one transaction, so either all happen or none does.
 */
import { Router } from "express";
import { z } from "zod";
import { priceCart } from "../cart/pricing.js";
import { notFound } from "../errors.js";
import { requireUser } from "../middleware/locals.js";
import type { PlaceOrderResult } from "../orders/orders.js";
import type { RouteDeps } from "./deps.js";

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
  z.string({ error: `Enter your ${field}.` }).trim().min(1, `Enter your ${field}.`).max(max, `Your ${field} can be at most ${max} characters.`);

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
    cvc: z.string({ error: "Enter the 3 or 4 digit security code." }).trim().regex(/^\d{3,4}$/, "Enter the 3 or 4 digit security code."),
  });
}

export function checkoutRoutes({ catalog, orders, sessions, flash, clock }: RouteDeps): Router {
  const router = Router();

  const pricedCartOf = (cart: { productId: number; quantity: number }[]) =>
    priceCart(cart, catalog.productsByIds(cart.map((l) => l.productId)));

  router.get("/checkout", requireUser, (req, res) => {
    const cart = pricedCartOf(req.session.data.cart);
    if (cart.lines.length === 0) {
      flash.set(res, "info", "Your cart is empty: add something before checking out.");
      res.redirect(303, "/cart");
      return;
    }
    res.render("checkout", { title: "Checkout", cart, values: {}, errors: {}, short: [] });
  });

  router.post("/checkout", requireUser, async (req, res) => {
    const userId = res.locals.user.id as number;
    const form = (req.body ?? {}) as Record<string, unknown>;
    const parsed = checkoutSchema(new Date(clock.now())).safeParse(form);
    const values = { name: String(form.name ?? "").slice(0, 100), address: String(form.address ?? "").slice(0, 300) };
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
      res.status(400).render("checkout", { title: "Checkout", cart: pricedCartOf(req.session.data.cart), values, errors, short: [] });
      return;
    }
    const { name, address, card } = parsed.data;
    let result = { ok: false, short: [] } as PlaceOrderResult;
    await sessions.change(req.session, res, (data) => {
      result = orders.place(userId, data.cart, { name, address, cardLast4: card.slice(-4) }, clock.now());
      return result.ok ? { ...data, cart: [] } : data; // the cart empties in the same commit as the order
    });
    if (result.ok) {
      flash.set(res, "success", `Thank you! Order #${result.orderId} is placed.`);
      res.redirect(303, `/orders/${result.orderId}`);
      return;
    }
    if (result.short.length === 0) {
      flash.set(res, "info", "Your cart is empty: add something before checking out.");
      res.redirect(303, "/cart");
      return;
    }
    res.status(409).render("checkout", {
      title: "Checkout",
      cart: pricedCartOf(req.session.data.cart),
      values,
      errors: {},
      short: result.short,
    });
  });

  router.get("/orders", requireUser, (_req, res) => {
    res.render("orders", { title: "Your orders", orders: orders.listForUser(res.locals.user.id) });
  });

  router.get("/orders/:id", requireUser, (req, res) => {
    const raw = String(req.params.id);
    const id = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    const order = Number.isNaN(id) ? undefined : orders.getForUser(res.locals.user.id, id);
    if (!order) throw notFound("order");
    res.render("order", { title: `Order #${order.id}`, order });
  });

  return router;
}
