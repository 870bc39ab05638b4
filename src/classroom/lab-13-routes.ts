/**
 * Lab 13, the cart across sign-in: two buttons that fill a cart with a known set of products —
 * one for the account (signed in, then signed out: the cart is kept as the account's saved cart,
 * src/accounts/saved-carts.ts), one for the guest — so the class reproduces the same merge in a
 * minute, and the page model: the policy in force, which real shops do what, and what each
 * policy makes of these two carts (computed by the shop's own mergeCarts, so it cannot drift).
 *
 * The switch itself is an instructor action (POST /instructor/cart-merge, instructor-actions.ts).
 * No vulnerable mode: every policy is one that a real shop uses.
 */
import { type Request, type Response, Router } from "express";
import { MERGE_POLICIES, type MergePolicy, mergeCarts } from "../accounts/merge.ts";
import { addItem } from "../cart/cart.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { CartLine, SessionStorage } from "../session/types.ts";
import type { Classroom } from "./classroom.ts";

/** The two carts (product id → quantity). Grinder (stock 3) and Dutch Oven (stock 2) are the seed's scarce ones. */
export const LAB13_SAVED: readonly CartLine[] = [
  { productId: 5, quantity: 1 }, // Stoneware Mug
  { productId: 9, quantity: 6 }, // Chef's Knife
  { productId: 6, quantity: 2 }, // Hand Coffee Grinder, stock 3
  { productId: 11, quantity: 1 }, // Enamel Dutch Oven, stock 2
];
export const LAB13_GUEST: readonly CartLine[] = [
  { productId: 5, quantity: 2 }, // Stoneware Mug
  { productId: 9, quantity: 7 }, // Chef's Knife: 6 + 7 passes the 10-per-line limit
  { productId: 6, quantity: 2 }, // Hand Coffee Grinder: 2 + 2 passes the stock of 3
  { productId: 10, quantity: 1 }, // Linen Apron
];

export const cartMergeLabels: Record<MergePolicy, string> = {
  sum: "Add them up",
  larger: "Keep the larger quantity",
  newest: "The newest cart wins",
  account: "The account's cart wins",
};

/** Which real shops do what: the lesson (docs/teaching/lab-13-cart-merge.md) gives the sources. */
export const cartMergeShops: Record<MergePolicy, string> = {
  sum: "Magento 2's quote merge adds the quantities up, once even past a product's maximum (magento/magento2 #28517); Spree's order merge! adds them too, and once failed the sign-in when the sum passed the stock (spree/spree #5976).",
  larger: "commercetools' MergeWithExistingCustomerCart merges line by line; a product in both carts keeps one line, with the larger quantity of the two.",
  newest:
    "Saleor's storefront chose not to merge but to treat the newest cart as the cart: the one in the browser if there is one, else the account's (saleor/saleor-storefront #219); commercetools' UseAsNewActiveCustomerCart makes the guest's cart the customer's active cart.",
  account:
    "No major platform chose it on purpose; it is what a shop does by accident when the sign-in loads the saved cart over the guest's (Salesforce pwa-kit #319: the guest's items vanished at sign-in).",
};

export const isMergePolicy = (value: unknown): value is MergePolicy => typeof value === "string" && (MERGE_POLICIES as readonly string[]).includes(value);

export interface Lab13Deps {
  catalog: Catalog;
  sessions: SessionStorage;
  classroom: Classroom;
  flash: { set(res: Response, kind: "success" | "error" | "info", text: string): void };
}

export function lab13Routes({ catalog, sessions, flash }: Lab13Deps): Router {
  const router = Router();

  /** Replace the cart with `set`, by the cart's own rules (a product sold out since is a friendly message, not a 500). */
  const fill = async (req: Request, res: Response, set: readonly CartLine[]) => {
    const products = await catalog.productsByIds(set.map((l) => l.productId));
    let cart: CartLine[] = [];
    for (const line of set) {
      const product = products.get(line.productId);
      const added = product ? addItem(cart, product, line.quantity) : { ok: false as const, message: "A product of this lab is no longer sold." };
      if (!added.ok) return added.message;
      cart = added.cart;
    }
    await sessions.change(req.session, res, (data) => ({ ...data, cart }));
    return null;
  };
  const listed = async (set: readonly CartLine[]) => {
    const products = await catalog.productsByIds(set.map((l) => l.productId));
    return set.map((l) => `${products.get(l.productId)?.name ?? "?"} × ${l.quantity}`).join(", ");
  };

  router.post("/labs/13/saved", async (req, res) => {
    if (!res.locals.user) {
      flash.set(res, "info", "Sign in (or create an account) first: the saved cart belongs to an account.");
      return void res.redirect(303, "/labs/13");
    }
    const problem = await fill(req, res, LAB13_SAVED);
    if (problem) flash.set(res, "error", `${problem} Ask the instructor to restart the shop (it restores the stock).`);
    else flash.set(res, "success", `Your cart is now ${await listed(LAB13_SAVED)}. Now sign out: the shop keeps this cart for your account.`);
    res.redirect(303, "/labs/13");
  });

  router.post("/labs/13/guest", async (req, res) => {
    if (res.locals.user) {
      flash.set(res, "info", "Sign out first: the guest cart is the one you fill before signing in.");
      return void res.redirect(303, "/labs/13");
    }
    const problem = await fill(req, res, LAB13_GUEST);
    if (problem) flash.set(res, "error", `${problem} Ask the instructor to restart the shop (it restores the stock).`);
    else flash.set(res, "success", `This visit's cart is now ${await listed(LAB13_GUEST)}. Now sign in to the same account.`);
    res.redirect(303, "/labs/13");
  });

  return router;
}

/** The page: the policy in force, what each policy makes of the two carts, and this visitor's cart now. */
export async function lab13Page(req: Request, res: Response, { catalog, classroom }: Pick<Lab13Deps, "catalog" | "classroom">) {
  const ids = [...LAB13_SAVED, ...LAB13_GUEST, ...req.session.data.cart].map((l) => l.productId);
  const products = await catalog.productsByIds(ids);
  const named = (cart: readonly CartLine[]) => cart.map((l) => ({ name: products.get(l.productId)?.name ?? "A product no longer sold", quantity: l.quantity }));
  // The saved cart was filled first, the guest's afterwards: for "newest", the guest's is newer.
  const outcomes = MERGE_POLICIES.map((policy) => {
    const merged = mergeCarts({ guest: LAB13_GUEST, saved: LAB13_SAVED, guestChangedAt: 2, savedChangedAt: 1, policy, product: (id) => products.get(id) });
    return { policy, label: cartMergeLabels[policy], shops: cartMergeShops[policy], cart: named(merged.cart), adjustments: merged.adjustments };
  });
  return {
    lab13: {
      policy: classroom.cartMergePolicy,
      label: cartMergeLabels[classroom.cartMergePolicy],
      outcomes,
      saved: named(LAB13_SAVED),
      guest: named(LAB13_GUEST),
      cart: named(req.session.data.cart),
      signedIn: Boolean(res.locals.user),
    },
  };
}
