/** What every view needs: the signed-in user, the cart count for the badge, the search box value. */
import type { RequestHandler } from "express";
import type { User, Users } from "../auth/users.ts";
import { countItems } from "../cart/cart.ts";

declare global {
  namespace Express {
    /** res.locals, typed: what this middleware sets for every view and route after it. */
    interface Locals {
      /** The signed-in user, or null for a guest (require-user.ts lets only the former through). */
      user: User | null;
      cartCount: number;
      path: string;
      here: string;
      q: string;
    }
  }
}

export function locals(users: Users): RequestHandler {
  return async (req, res, next) => {
    const userId = req.session.userId;
    res.locals.user = userId === null ? null : ((await users.findById(userId)) ?? null);
    res.locals.cartCount = countItems(req.session.data.cart);
    res.locals.path = req.path;
    res.locals.here = req.originalUrl;
    res.locals.q = typeof req.query.q === "string" ? req.query.q.slice(0, 100) : "";
    next();
  };
}
