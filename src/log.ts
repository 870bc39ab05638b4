/**
 * createLogger: pino, one JSON line per event. What is never logged: session IDs, cookies,
 * passwords, request bodies. Tests pass level "silent".
 */
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, redact: ["req.headers.cookie", "res.headers['set-cookie']"] });
}
