/** What every view needs: the signed-in user, the cart count for the badge, the search box value. */
import type { RequestHandler } from "express";
import type { Users } from "../auth/users.ts";
import { countItems } from "../cart/cart.ts";

export function locals(users: Users): RequestHandler {
  return (req, res, next) => {
    const userId = req.session.userId;
    res.locals.user = userId === null ? null : (users.findById(userId) ?? null);
    res.locals.cartCount = countItems(req.session.data.cart);
    res.locals.path = req.path;
    res.locals.here = req.originalUrl;
    res.locals.q = typeof req.query.q === "string" ? req.query.q.slice(0, 100) : "";
    next();
  };
}
