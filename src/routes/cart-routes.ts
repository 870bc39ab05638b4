/**
 * The cart: every change is a POST that goes through sessions.change (an atomic update of the
 * freshest stored cart) and ends in a redirect (post/redirect/get), so it all works without
 * JavaScript and a reload never re-submits.
 *
 * Malformed input (non-numeric IDs, quantities that are not whole numbers 1..10) gets a 400
 * page; an unknown product a 404. A well-formed request that breaks a rule of the shop (more
 * than 10, more than the stock) goes back where it came from with a message. Either way the
 * cart is left exactly as it was.
 */
import { Router, type Request, type Response } from "express";
import { addItem, parseQuantity, removeItem, setNote, setQuantity, type CartResult } from "../cart/cart.ts";
import { priceCart } from "../cart/pricing.ts";
import { badRequest, notFound } from "../errors.ts";
import { safeLocalPath } from "../safe-local-path.ts";
import { SessionTooLargeError } from "../session/errors.ts";
import type { CartLine } from "../session/types.ts";
import type { RouteDeps } from "./deps.ts";

const REFUSED = Symbol("refused");

function productIdFrom(value: unknown): number {
  if (typeof value !== "string" || !/^\d{1,9}$/.test(value)) throw badRequest("That is not a product we know.");
  return Number(value);
}

export function cartRoutes({ catalog, sessions, flash }: RouteDeps): Router {
  const router = Router();

  const productFrom = async (value: unknown) => {
    const product = await catalog.productById(productIdFrom(value));
    if (!product) throw notFound("product");
    return product;
  };

  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  /** Run a cart rule on the freshest cart inside the session's atomic update; a refusal writes nothing. */
  async function changeCart(req: Request, res: Response, op: (cart: readonly CartLine[]) => CartResult): Promise<CartResult> {
    let result = { ok: false, message: "" } as CartResult;
    try {
      await sessions.change(req.session, res, (data) => {
        result = op(data.cart);
        if (!result.ok) throw REFUSED;
        return { ...data, cart: result.cart };
      });
    } catch (error) {
      // A technique's size limit (the cookie's 4 KB): a rule of this shop like the others, nothing was changed.
      if (error instanceof SessionTooLargeError) return { ok: false, message: error.message };
      if (error !== REFUSED) throw error;
    }
    return result;
  }

  router.get("/cart", async (req, res) => {
    const cart = req.session.data.cart;
    const priced = priceCart(cart, await catalog.productsByIds(cart.map((l) => l.productId)));
    res.render("cart", { title: "Your cart", cart: priced });
  });

  router.post("/cart/items", async (req, res) => {
    const product = await productFrom(body(req).productId);
    const parsed = parseQuantity(body(req).quantity ?? "1");
    if (!parsed.ok) throw badRequest(parsed.message);
    const back = safeLocalPath(body(req).returnTo, `/products/${product.slug}`);
    // The rule runs on the freshest cart, with the stock this request read (checkout checks the stock
    // again, in the one statement that takes it: src/orders/orders.ts).
    const result = await changeCart(req, res, (cart) => addItem(cart, product, parsed.quantity));
    if (result.ok) flash.set(res, "success", `Added ${parsed.quantity} × ${product.name} to your cart.`);
    else flash.set(res, "error", result.message);
    res.redirect(303, back);
  });

  router.post("/cart/items/:productId", async (req, res) => {
    const product = await productFrom(req.params.productId);
    const parsed = parseQuantity(body(req).quantity);
    if (!parsed.ok) throw badRequest(parsed.message);
    if (req.session.key === null) throw badRequest(`${product.name} is not in your cart.`);
    const result = await changeCart(req, res, (cart) => setQuantity(cart, product, parsed.quantity));
    if (result.ok) flash.set(res, "success", `${product.name}: quantity set to ${parsed.quantity}.`);
    else flash.set(res, "error", result.message);
    res.redirect(303, "/cart");
  });

  router.post("/cart/items/:productId/note", async (req, res) => {
    const product = await productFrom(req.params.productId);
    if (req.session.key === null) throw badRequest(`${product.name} is not in your cart.`);
    const note = body(req).note ?? "";
    if (typeof note !== "string") throw badRequest("A gift note must be text.");
    const result = await changeCart(req, res, (cart) => setNote(cart, product.id, note));
    if (result.ok) flash.set(res, "success", note.trim() === "" ? `Removed the gift note from ${product.name}.` : `Saved the gift note for ${product.name}.`);
    else flash.set(res, "error", result.message);
    res.redirect(303, "/cart");
  });

  router.post("/cart/items/:productId/delete", async (req, res) => {
    const product = await productFrom(req.params.productId);
    // Nothing stored yet means nothing to remove: don't create a session just to say so.
    if (req.session.key !== null) {
      await changeCart(req, res, (cart) => ({ ok: true, cart: removeItem(cart, product.id) }));
      flash.set(res, "success", `Removed ${product.name} from your cart.`);
    }
    res.redirect(303, "/cart");
  });

  router.post("/cart/empty", async (req, res) => {
    if (req.session.key !== null) {
      await changeCart(req, res, () => ({ ok: true, cart: [] }));
      flash.set(res, "success", "Your cart is empty now.");
    }
    res.redirect(303, "/cart");
  });

  return router;
}
