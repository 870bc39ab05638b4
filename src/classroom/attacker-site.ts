/**
 * Lab 10's "attacker": a second web site, served by the classroom on its own port, so that a class
 * can watch a real cross-site request leave one site and arrive at the shop. It is another *site*
 * only when the browser reaches it under another host name: the lab links to it as
 * http://127.0.0.1:<port>/ while the shop is http://localhost:<port>/ (a site is the scheme and the
 * registrable host; the port does not count, so http://localhost:<attacker port>/ is the same site
 * as the shop — the lab shows that too).
 *
 * The page holds nothing but plain forms with hidden fields and an innocent button — no script —
 * posting to the shop's cart and sign-out, and a plain link into the shop. It never sees the shop's
 * answers: a cross-site page cannot read them. Whether the browser attaches the shop's cookie is
 * the browser's decision (SameSite), and whether the shop obeys is the shop's (its CSRF checks).
 * Started by server.ts only with CLASSROOM_VULNERABLE_LABS=1 and CLASSROOM_ATTACKER_PORT.
 */
import path from "node:path";
import express from "express";

/** What the attacker adds to the victim's cart: something expensive (Chef's Knife, 18 in stock). */
export const ATTACKER_GIFT = { productId: 9, name: "Chef's Knife" } as const;

export function createAttackerSite({ root, shopOrigin }: { root: string; shopOrigin: string }) {
  const app = express();
  app.disable("x-powered-by");
  app.set("view engine", "ejs");
  app.set("views", path.join(root, "views"));
  app.set("view cache", true);
  app.use((_req, res, next) => {
    // Its own policy: no script at all, and forms may post to the shop only.
    res.set({
      "Content-Security-Policy": `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${shopOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    next();
  });
  app.get("/", (req, res) => {
    const host = /^[a-z0-9.-]{1,253}$/i.test(req.hostname) ? req.hostname : "?";
    const shopHost = new URL(shopOrigin).hostname;
    res.render("labs/attacker", { shopOrigin, gift: ATTACKER_GIFT, host, sameSite: host === shopHost });
  });
  app.get("/prize.css", (_req, res) => res.sendFile(path.join(root, "public/lab-10-attacker.css")));
  app.use((_req, res) => {
    res.status(404).type("text/plain").send("Not here. This is lab 10's attacker site: open / .");
  });
  return app;
}
