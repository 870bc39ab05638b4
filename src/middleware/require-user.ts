/** Pages only a signed-in shopper may see: others are sent to log in, and come back afterwards. */
import type { RequestHandler, Response } from "express";
import type { User } from "../auth/users.ts";

export const requireUser: RequestHandler = (req, res, next) => {
  if (res.locals.user) return next();
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
};

/** The shopper requireUser let through; only for routes behind it (anywhere else it is a bug: a 500). */
export const userOf = (res: Response): User => {
  const user = res.locals.user;
  if (!user) throw new Error("userOf: requireUser did not run before this route");
  return user;
};
