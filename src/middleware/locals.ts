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

/** Pages only a signed-in shopper may see: others are sent to log in, and come back afterwards. */
export const requireUser: RequestHandler = (req, res, next) => {
  if (res.locals.user) return next();
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
};

/** Only same-site paths: "//evil.example" or "https://…" would make us an open redirect. */
export function safeLocalPath(value: unknown, fallback = "/"): string {
  return typeof value === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 200 ? value : fallback;
}
