/** Pages only a signed-in shopper may see: others are sent to log in, and come back afterwards. */
import type { RequestHandler } from "express";

export const requireUser: RequestHandler = (req, res, next) => {
  if (res.locals.user) return next();
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
};
