/** The one error class routes throw: a status and a message that is safe to show the visitor. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly title?: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, message, "That didn't work");
export const notFound = (what = "page") => new HttpError(404, `We couldn't find that ${what}.`, "Not found");
