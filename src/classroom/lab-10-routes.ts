/**
 * Lab 10's page model and its one button. The victim's side lives in the shop (this page, the
 * cart); the attacker's side is a second site (attacker-site.ts) on CLASSROOM_ATTACKER_PORT. The
 * page says which cookie settings are on, which session this browser is in and what its cart
 * holds — the things the class compares before and after the attacker's form.
 */
import { type Request, Router } from "express";
import type { Catalog } from "../catalog/catalog.ts";
import type { Config } from "../config.ts";
import { addItem } from "../cart/cart.ts";
import { badRequest, notFound } from "../errors.ts";
import { fingerprint } from "../session/id.ts";
import type { SessionStorage } from "../session/types.ts";
import { ATTACKER_GIFT } from "./attacker-site.ts";
import type { Classroom } from "./classroom.ts";

/** The victim's own cart to start from: one Stoneware Mug (46 in stock). */
const VICTIM_PRODUCT_ID = 5;

export interface Lab10Deps {
  config: Config;
  classroom: Classroom;
  catalog: Catalog;
  sessions: SessionStorage;
  flash: { set(res: import("express").Response, kind: "success" | "error" | "info", text: string): void };
}

export function lab10Routes({ classroom, catalog, sessions, flash }: Lab10Deps): Router {
  const router = Router();
  // Start as the victim: exactly one mug in the cart, whatever was there (this also gives the browser its session).
  router.post("/labs/10/start", async (req, res) => {
    const product = await catalog.productById(VICTIM_PRODUCT_ID);
    if (!product) throw notFound("product");
    await sessions.change(req.session, res, (data) => {
      const added = addItem([], product, 1);
      if (!added.ok) throw badRequest(added.message);
      return { ...data, cart: added.cart };
    });
    const sameSite = classroom.labModes.sameSiteNone ? "None" : classroom.labModes.sameSiteStrict ? "Strict" : "Lax";
    flash.set(
      res,
      "success",
      `You are the victim: 1 × ${product.name} in your cart, session ${fingerprint(req.session.key!)}, cookie sent with SameSite=${sameSite}.`,
    );
    res.redirect(303, "/labs/10");
  });
  return router;
}

export async function lab10Page(req: Request, { config, classroom, catalog }: Pick<Lab10Deps, "config" | "classroom" | "catalog">) {
  const { labModes } = classroom;
  const cart = req.session.data.cart;
  const products = await catalog.productsByIds(cart.map((l) => l.productId));
  const port = config.attackerPort;
  return {
    shopOrigin: `http://localhost:${config.port}`,
    openedAsLocalhost: req.hostname === "localhost",
    attacker: port === null ? null : { crossSite: `http://127.0.0.1:${port}/`, sameSite: `http://localhost:${port}/` },
    sameSite: labModes.sameSiteNone ? "None" : labModes.sameSiteStrict ? "Strict" : "Lax",
    checksOff: labModes.csrfChecksOff,
    session: req.session.key === null ? null : fingerprint(req.session.key),
    lines: cart.map((l) => ({ name: products.get(l.productId)?.name ?? `product ${l.productId}`, quantity: l.quantity })),
    giftInCart: cart.some((l) => l.productId === ATTACKER_GIFT.productId),
    victimHasMug: cart.some((l) => l.productId === VICTIM_PRODUCT_ID),
    gift: ATTACKER_GIFT,
  };
}
