/**
 * The one rate limiter for password guesses (sign-in, the instructor's password, the password
 * asked again before ending sessions): failed attempts only, in a 15-minute window, then a 429
 * page saying how long to wait. Successful attempts are not counted (they redirect with 303),
 * so an honest user who types the password right is never slowed down.
 */
import type { Request, RequestHandler, Response } from "express";
import { rateLimit } from "express-rate-limit";
import { HttpError } from "../errors.ts";
import type { LimitStores } from "./limit-stores.ts";

const WINDOW_MS = 15 * 60_000;

export interface FailureLimitOptions {
  /** Which limit: its counts are kept apart from the others' (the same IP is a key of several). */
  name: string;
  /** Where counts are kept, shared by every instance of the shop (limit-stores.ts). */
  stores: LimitStores;
  /** Failed attempts allowed per window and key. */
  limit: number;
  /** What the 429 page says. */
  message: string;
  /** Whose attempts are counted together (default: the client's IP address). */
  key?: (req: Request, res: Response) => string;
}

export function createFailureLimit({ name, stores, limit, message, key }: FailureLimitOptions): RequestHandler {
  return rateLimit({
    store: stores.storeFor(name),
    windowMs: WINDOW_MS,
    limit,
    skipSuccessfulRequests: true,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    ...(key ? { keyGenerator: key } : {}),
    handler: (_req, _res, next) => next(new HttpError(429, message, "Slow down")),
  });
}
