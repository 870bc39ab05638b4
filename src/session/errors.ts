/** What the session lifecycle can refuse, each with the status it means (see src/errors.ts). */
import { HttpError } from "../errors.ts";

/** change() found the session gone: a logout in another tab, a revoke, an expiry. Nothing was changed. */
export class SessionEndedError extends HttpError {
  constructor() {
    super(409, "Your session ended while this request was on its way (did you sign out in another tab?). Nothing was changed.", "Your session ended");
  }
}

/** The session would no longer fit where this technique keeps it (the cookie technique's 4 KB). Nothing was changed. */
export class SessionTooLargeError extends HttpError {
  readonly bytes: number;
  constructor(message: string, bytes: number) {
    super(413, message, "That didn't fit");
    this.bytes = bytes;
  }
}
