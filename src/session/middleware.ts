/**
 * loadSession(storage): puts the visitor's session on req.session for every request that
 * reaches it (static files are served before it and never touch the store).
 *
 * A store outage fails the request (the 503 page), so an outage is never mistaken for an empty
 * cart. Except where `outageTolerant(req)` says the page reports the outage itself and never
 * writes the shop session (the instructor dashboard and its live stream): those get an empty,
 * unsaved session instead, so an instructor who also shops in that browser still sees "Store
 * unavailable", and the dashboard's EventSource is not answered with an error page (on which it
 * gives up for good).
 */
import type { Request, RequestHandler } from "express";
import { StoreUnavailableError } from "../errors.ts";
import { emptySession } from "./storage.ts";
import type { Session, SessionStorage } from "./types.ts";

declare global {
  namespace Express {
    interface Request {
      session: Session;
    }
  }
}

export function loadSession(storage: SessionStorage, options: { outageTolerant?: (req: Request) => boolean } = {}): RequestHandler {
  return async (req, res, next) => {
    try {
      req.session = await storage.load(req, res);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || !options.outageTolerant?.(req)) throw error;
      req.session = emptySession([]);
    }
    next();
  };
}
