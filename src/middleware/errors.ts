/**
 * The last two middlewares: a styled 404 for unknown URLs, and one error handler that turns
 * every failure into a friendly page (or JSON for JSON clients), never a stack trace.
 *
 * - HttpError and its kinds carry their status and a message written for visitors: a 404, a
 *   session that ended mid-request (409), a session too large for its technique (413), a store
 *   that is busy or unavailable (503 + Retry-After; every store translates its own failures).
 * - Malformed URLs or bodies, oversized bodies (Express, body-parser): their 4xx status.
 * - Anything else is a bug: logged with its stack, shown as a plain 500.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../log.ts";
import { HttpError, notFound } from "../errors.ts";

const TITLES: Record<number, string> = { 403: "Request refused", 404: "Not found", 503: "Back in a moment" };

export const notFoundHandler: RequestHandler = () => {
  throw notFound();
};

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    let status = 500;
    let title = "Something went wrong";
    let message = "Something went wrong on our side. Your cart is safe; please try again in a moment.";
    const e = err as { status?: unknown };

    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
      title = err.title ?? TITLES[status] ?? "That didn't work";
      if (err.retryAfterSeconds !== undefined) res.set("Retry-After", String(err.retryAfterSeconds));
      if (status === 503) log.warn({ err: err.cause ?? err, path: req.path }, "storage unavailable");
    } else if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      // Express and body-parser: a malformed URL (bad percent-encoding), entity.too.large,
      // entity.parse.failed, charset.unsupported, … Their messages are not written for visitors.
      status = e.status;
      title = "That didn't work";
      message = e.status === 413 ? "That form was too large." : "We couldn't read that request. Please go back and try again.";
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
