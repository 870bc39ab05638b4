/**
 * loadSession(storage): the visitor's session on req.session, for every request that reaches it
 * (static files are served before it). A store outage fails the request (the 503 page), so it is
 * never mistaken for an empty cart — except where `outageTolerant(req)` says the page reports the
 * outage itself and never writes the session (the instructor dashboard and its live stream, whose
 * EventSource would give up for good on an error page): those get an empty, unsaved session.
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
