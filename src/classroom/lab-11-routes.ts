/**
 * Lab 11's two buttons and its page model: set the lab cookie with the chosen attributes, and
 * the `Set-Cookie: lab_a=1; lab_b=2` line that sets only lab_a (one Set-Cookie is one cookie; what
 * follows the first `;` are attributes, and `lab_b=2` is an unknown one, ignored).
 */
import { type Request, Router } from "express";
import { badRequest } from "../errors.ts";
import { choicesQuery, clearingLines, cookieNameOf, parseChoices, predict, setCookieLine } from "./lab-cookies.ts";

/** The host the browser used; refused if it could smuggle attributes into a Set-Cookie line. */
function hostOf(req: Request): string {
  const host = req.hostname;
  if (!/^[a-z0-9.-]{1,253}$/i.test(host) && !/^\[[0-9a-f:.]+\]$/i.test(host)) throw badRequest("This lab needs a plain host name or IP address in the URL.");
  return host;
}

/** Browsers treat these as potentially trustworthy without TLS: Secure cookies may be set over http there. */
const secureContextOf = (req: Request) => req.secure || ["localhost", "127.0.0.1", "[::1]"].includes(req.hostname) || req.hostname.endsWith(".localhost");

export function lab11Routes(): Router {
  const router = Router();
  router.post("/labs/11/set", (req, res) => {
    const host = hostOf(req);
    const choices = parseChoices((req.body ?? {}) as Record<string, unknown>);
    for (const line of clearingLines(host)) res.append("Set-Cookie", line);
    res.append("Set-Cookie", setCookieLine(choices, host));
    res.redirect(303, `/labs/11?${choicesQuery(choices)}`);
  });
  router.post("/labs/11/pair", (_req, res) => {
    res.append("Set-Cookie", "lab_b=; Path=/; Max-Age=0");
    // One header, two pairs: browsers keep lab_a=1 and read "lab_b=2" as an (unknown) attribute.
    res.append("Set-Cookie", "lab_a=1; lab_b=2");
    res.redirect(303, "/labs/11?pair=1");
  });
  return router;
}

/** The page: what was sent (rebuilt from the choices in the URL), what came back, and the prediction. */
export function lab11Page(req: Request) {
  const host = hostOf(req);
  const query = req.query as Record<string, unknown>;
  const received = (req.get("cookie") ?? "")
    .split(";")
    .map((p) => p.trim())
    .filter((p) => /^(__Host-)?lab_/.test(p));
  const tried = typeof query.value === "string" ? parseChoices(query) : null;
  return {
    host,
    secureContext: secureContextOf(req),
    choices: tried ?? parseChoices({}),
    sent: tried ? setCookieLine(tried, host) : null,
    name: tried ? cookieNameOf(tried) : null,
    predicted: tried ? predict(tried, { secureContext: secureContextOf(req), host }) : null,
    pair: query.pair === "1",
    received,
    nextValue: `v${(Date.now() % 1_000_000).toString(36)}`,
  };
}
