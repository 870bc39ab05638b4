/** One line per request: method, path, status, duration. No headers, so no cookies. */
import type { RequestHandler } from "express";
import type { Logger } from "../log.ts";

export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      log.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 }, "request");
    });
    next();
  };
}
