/**
 * The last two middlewares: a styled 404 for unknown URLs, and one error handler that turns
 * every failure into a friendly page (or JSON for JSON clients), never a stack trace.
 *
 * - HttpError: its status and message (the message is written for visitors).
 * - A session that ended mid-request: 409, nothing changed.
 * - Malformed URLs or bodies, oversized bodies (Express, body-parser): their 4xx status.
 * - SQLite busy, locked, full, read-only, I/O, or Redis unreachable: 503 with Retry-After; nothing was acknowledged.
 * - Anything else is a bug: logged with its stack, shown as a plain 500.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../log.ts";
import { HttpError, notFound } from "../errors.ts";
import { SessionEndedError } from "../session/storage.ts";

// SQLite under pressure, or the Redis session store unreachable (StoreUnavailableError).
const STORAGE_UNAVAILABLE = /^(SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|PROTOCOL)|STORE_UNAVAILABLE$)/;

export const notFoundHandler: RequestHandler = () => {
  throw notFound();
};

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    let status = 500;
    let title = "Something went wrong";
    let message = "Something went wrong on our side. Your cart is safe; please try again in a moment.";
    const e = err as { status?: unknown; type?: unknown; code?: unknown; message?: unknown };

    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
      title = err.title ?? (status === 404 ? "Not found" : status === 403 ? "Request refused" : "That didn't work");
    } else if (err instanceof SessionEndedError) {
      status = 409;
      title = "Your session ended";
      message = err.message;
    } else if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      // Express and body-parser: a malformed URL (bad percent-encoding), entity.too.large,
      // entity.parse.failed, charset.unsupported, … Their messages are not written for visitors.
      status = e.status;
      title = "That didn't work";
      message = e.status === 413 ? "That form was too large." : "We couldn't read that request. Please go back and try again.";
    } else if (typeof e.code === "string" && STORAGE_UNAVAILABLE.test(e.code)) {
      status = 503;
      title = "Back in a moment";
      message = "The shop's storage is busy or unavailable right now, so nothing was saved. Please try again in a few seconds.";
      res.set("Retry-After", "5");
      log.warn({ code: e.code, path: req.path }, "storage unavailable");
    } else {
      log.error({ err, path: req.path }, "unhandled error");
    }

    // A failed request must not leave a half-made session cookie behind.
    if (status >= 500) res.removeHeader("Set-Cookie");
    res.status(status);
    res.set("Cache-Control", "no-store");
    if (req.accepts(["html", "json"]) === "json") {
      res.json({ error: { status, title, message } });
      return;
    }
    res.render("error", { title, status, message });
  };
}
