/**
 * Lab 14's actions and page model: the instructor puts the last unit on the shelf (the stock of
 * one product set to 1), each shopper puts it in their cart, and the page counts the orders placed
 * for it since then and how many units were sold that the shop did not have.
 *
 * The page's "Place order" form posts to the shop's own /checkout (the real route, the real
 * transaction), with the details filled in, so two shoppers can press it at the same moment — or let
 * the page's script press it at the next 5-second mark (public/lab-last-unit.js).
 */
import { randomBytes } from "node:crypto";
import { type Request, type RequestHandler, type Response, Router } from "express";
import type { Catalog } from "../catalog/catalog.ts";
import type { Sql } from "../db/sql.ts";
import { notFound } from "../errors.ts";
import type { SessionStorage } from "../session/types.ts";
import type { Classroom } from "./classroom.ts";
import { LAST_UNIT_WAIT_MS } from "./last-unit.ts";

/** Trail Compass: no other lab uses it. */
export const LAST_UNIT_PRODUCT_ID = 28;

/** What the lab's order form sends (the test card of the checkout page's own hint). */
export const LAST_UNIT_ORDER = {
  name: "Last-unit shopper",
  address: "1 Race Condition Row\nSpringfield",
  card: "4242 4242 4242 4242",
  expiry: "12/39",
  cvc: "123",
};

export interface Lab14Deps {
  db: Sql;
  catalog: Catalog;
  sessions: SessionStorage;
  classroom: Classroom;
  requireInstructor: RequestHandler;
  flash: { set(res: Response, kind: "success" | "error" | "info", text: string): void };
}

export function createLab14({ db, catalog, sessions, classroom, requireInstructor, flash }: Lab14Deps) {
  const sold = (productId: number, since: number) =>
    db.get<{ orders: number; units: number | null }>(
      `SELECT count(DISTINCT o.id) AS orders, sum(l.quantity) AS units
         FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE l.product_id = ? AND o.created_at >= ?`,
      [productId, since],
    );
  /** When the instructor last put the single unit out (demo clock, like the orders' created_at). */
  let shelvedAt: number | null = null;

  const product = async () => {
    const p = await catalog.productById(LAST_UNIT_PRODUCT_ID);
    if (!p) throw notFound("product");
    return p;
  };

  const router = Router();

  router.post("/instructor/last-unit", requireInstructor, async (_req, res) => {
    const p = await product();
    await db.run("UPDATE products SET stock = 1 WHERE id = ?", [p.id]);
    shelvedAt = classroom.clock.now();
    flash.set(res, "success", `One ${p.name} left in stock. Shoppers: put it in your cart and place the order together.`);
    res.redirect(303, "/labs/14");
  });

  router.post("/labs/14/add", async (req, res) => {
    const p = await product();
    if (!res.locals.user) {
      flash.set(res, "info", "Sign in (or create an account) first: only a signed-in shopper can place an order.");
      return void res.redirect(303, "/labs/14");
    }
    if (p.stock < 1) {
      flash.set(res, "info", `${p.name} is sold out: the instructor puts the last unit back with “Put one ${p.name} on the shelf”.`);
      return void res.redirect(303, "/labs/14");
    }
    // Just this one unit: the order is then about the last unit and nothing else.
    await sessions.change(req.session, res, (data) => ({ ...data, cart: [{ productId: p.id, quantity: 1 }] }));
    flash.set(res, "success", `Your cart is 1 × ${p.name}. Now place the order, at the same moment as the other shopper.`);
    res.redirect(303, "/labs/14");
  });

  /** The page: the product, its stock, the orders placed for it since the last unit was put out, and the order form. */
  const page = async (req: Request, res: Response) => {
    const p = await product();
    const since = shelvedAt === null ? null : await sold(p.id, shelvedAt);
    const units = since?.units ?? 0;
    return {
      lab14: {
        product: p,
        shelved: shelvedAt !== null,
        orders: since?.orders ?? 0,
        units,
        // One unit was put out: anything sold beyond it was sold twice.
        oversold: Math.max(0, units - 1),
        signedIn: Boolean(res.locals.user),
        inCart: req.session.data.cart.some((l) => l.productId === p.id),
        order: LAST_UNIT_ORDER,
        checkoutToken: randomBytes(16).toString("base64url"),
        waitSeconds: LAST_UNIT_WAIT_MS / 1000,
      },
    };
  };

  return { router, page };
}
