/**
 * The dashboard's live part as server-sent events: re-rendered on the server every 2 seconds
 * while the page is open, so the browser needs no script of its own to draw it. Each open stream
 * is registered with the classroom, so a graceful shutdown can end it instead of waiting for it
 * forever (the browser's EventSource reconnects to the next server).
 */
import type { RequestHandler } from "express";
import type { Classroom } from "./classroom.ts";
import type { LiveModel, OwnSession } from "./instructor-live.ts";

const EVERY_MS = 2_000;

export function liveStream({ classroom, liveModel }: { classroom: Classroom; liveModel: (own: OwnSession) => Promise<LiveModel> }): RequestHandler {
  return (req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    res.flushHeaders();
    const render = (live: LiveModel) =>
      new Promise<string>((resolve, reject) =>
        res.app.render("partials/instructor-live", { ...res.locals, live }, (err, out) => (err ? reject(err) : resolve(out))),
      );
    const push = async () => {
      try {
        res.write(`event: live\ndata: ${JSON.stringify({ html: await render(await liveModel(req.session)) })}\n\n`);
      } catch {
        res.write(`event: error\ndata: {}\n\n`);
      }
    };
    void push();
    const timer = setInterval(() => void push(), EVERY_MS);
    const forget = classroom.trackStream(() => {
      clearInterval(timer);
      res.end();
    });
    req.on("close", () => {
      clearInterval(timer);
      forget();
    });
  };
}
