/**
 * loadSession(storage): puts the visitor's session on req.session for every request that
 * reaches it (static files are served before it and never touch the store).
 */
import type { RequestHandler } from "express";
import type { Session, SessionStorage } from "./types.ts";

declare global {
  namespace Express {
    interface Request {
      session: Session;
    }
  }
}

export function loadSession(storage: SessionStorage): RequestHandler {
  return async (req, res, next) => {
    req.session = await storage.load(req, res);
    next();
  };
}
