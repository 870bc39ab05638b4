/**
 * The errors the error handler knows: each carries the status it means and a message written for
 * the visitor, so the handler reads `status` instead of guessing from codes and classes.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly title: string | undefined;
  /** Sent as Retry-After (seconds): the failure is temporary and a retry may work. */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, message: string, title?: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.title = title;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const badRequest = (message: string) => new HttpError(400, message, "That didn't work");
export const notFound = (what = "page") => new HttpError(404, `We couldn't find that ${what}.`, "Not found");

/**
 * A store (SQLite busy, locked, full or read-only; Redis frozen, gone or too late) could not do its
 * part. Always a 503 with Retry-After, never an empty cart or a 500: nothing was acknowledged, so
 * the shopper can safely try again. Every store translates its own failures into this one error.
 */
export class StoreUnavailableError extends HttpError {
  readonly code = "STORE_UNAVAILABLE";
  constructor(cause: unknown) {
    super(503, "The shop's storage is busy or unavailable right now, so nothing was saved. Please try again in a few seconds.", "Back in a moment", {
      cause,
      retryAfterSeconds: 5,
    });
  }
}
