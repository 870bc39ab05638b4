/**
 * createLogger: pino, one JSON line per event. What is never logged: session IDs, cookies,
 * passwords, request bodies. Tests pass level "silent".
 *
 * With `pretty` (development on a terminal) the same events are printed for people by
 * pino-pretty, synchronously, so a line is on screen before the next request starts and nothing
 * is lost when `npm run dev` restarts the process. JSON everywhere else: log collectors parse it.
 */
import { pino } from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

const redact = ["req.headers.cookie", "res.headers['set-cookie']"];

export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  if (options.pretty) {
    return pino({ level, base: undefined, redact }, pretty({ sync: true, colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }));
  }
  return pino({ level, base: undefined, redact });
}
