/** The one error class routes throw: a status and a message that is safe to show the visitor. */
export class HttpError extends Error {
  readonly status: number;
  readonly title: string | undefined;
  constructor(status: number, message: string, title?: string) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

export const badRequest = (message: string) => new HttpError(400, message, "That didn't work");
export const notFound = (what = "page") => new HttpError(404, `We couldn't find that ${what}.`, "Not found");
