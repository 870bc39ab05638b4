/**
 * Accounts. The two session moments the whole shop exists to teach happen here:
 *  - log in (and register): sessions.regenerate, a new ID with the same cart (defeats fixation);
 *  - log out: sessions.destroy, the row deleted and the cookie cleared (a copied cookie is dead).
 * Both are POSTs: a GET must never change state (a link or an <img> could trigger it).
 */
import { Router, type Request } from "express";
import { z } from "zod";
import { normalizeEmail } from "../auth/email.ts";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "../auth/password.ts";
import { createFailureLimit } from "../middleware/rate-limit.ts";
import { safeLocalPath } from "../safe-local-path.ts";
import type { RouteDeps } from "./deps.ts";

// One spelling per address (NFC, lower case, the domain in its DNS form): auth/email.ts says why.
const credentials = z.object({
  email: z.string().max(1024).transform(normalizeEmail).pipe(z.string()), // null: not an address
  password: z
    .string()
    .min(1)
    .max(MAX_PASSWORD_LENGTH * 4),
});

const GENERIC_LOGIN_ERROR = "That email and password don't match an account.";

export function authRoutes({ users, sessions, flash, clock, audit, passwords, carryOver, limits }: RouteDeps): Router {
  const router = Router();

  // Verifying against a real hash when the email is unknown makes both failures take as long,
  // so response time does not reveal which emails have accounts.
  let dummyHash: Promise<string> | undefined;
  const dummy = () => (dummyHash ??= passwords.hash("not-a-real-password-for-timing"));

  // Failed attempts only (a successful login redirects with 303), per client and per account.
  const perClient = createFailureLimit({
    name: "sign-in-client",
    stores: limits,
    limit: 30,
    message: "Too many failed sign-in attempts from your network. Please wait 15 minutes and try again.",
  });
  const perAccount = createFailureLimit({
    name: "sign-in-account",
    stores: limits,
    limit: 10,
    key: (req) =>
      `account:${(() => {
        const typed = (req.body as Record<string, unknown> | undefined)?.email;
        // The same account however its address is spelt (NFD, case), so spelling it anew gains no tries.
        return (
          normalizeEmail(typed) ??
          String(typed ?? "")
            .trim()
            .toLowerCase()
        );
      })()}`,
    message: "Too many failed sign-in attempts for this account. Please wait 15 minutes and try again.",
  });

  const form = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  router.get("/login", (req, res) => {
    res.render("login", { title: "Sign in", email: "", error: null, next: safeLocalPath(req.query.next, "") });
  });

  router.post("/login", perClient, perAccount, async (req, res) => {
    const next = safeLocalPath(form(req).next, "/");
    const parsed = credentials.safeParse(form(req));
    const email = typeof form(req).email === "string" ? String(form(req).email).slice(0, 254) : "";
    const user = parsed.success ? await users.findByEmail(parsed.data.email) : undefined;
    const ok = parsed.success && (await passwords.verify(parsed.data.password, user?.passwordHash ?? (await dummy()))) && user;
    if (!ok) {
      audit("sign-in", "failure", {
        userId: user?.id ?? null,
        reason: user ? "wrong password" : parsed.success ? "unknown account" : "invalid form",
        session: req.session.key,
      });
      res.status(401).render("login", { title: "Sign in", email, error: GENERIC_LOGIN_ERROR, next });
      return;
    }
    const previousSession = req.session.key;
    // The account's saved cart comes back, merged into this visit's cart in the same write as the new ID.
    const claimed = await carryOver.claim(ok.id, req.session.key, req.session.lastSeenAt, req.session.data.cart);
    try {
      await sessions.regenerate(req.session, res, { userId: ok.id, data: claimed.merge }); // new ID, same cart: defeats fixation
    } catch (error) {
      await carryOver.release(claimed).catch(() => {}); // not signed in: the saved cart stays saved
      throw error;
    }
    audit("sign-in", "success", { userId: ok.id, session: req.session.key, previousSession, count: claimed.rows.length });
    const back = claimed.restoredItems > 0 ? ` Your saved cart is back (${claimed.restoredItems} ${claimed.restoredItems === 1 ? "item" : "items"}).` : "";
    flash.set(res, "success", `Welcome back, ${ok.email}.${back}`, claimed.adjustments);
    res.redirect(303, next);
  });

  router.get("/register", (req, res) => {
    res.render("register", { title: "Create an account", email: "", errors: {}, next: safeLocalPath(req.query.next, "") });
  });

  router.post("/register", perClient, async (req, res) => {
    const next = safeLocalPath(form(req).next, "/");
    const email = typeof form(req).email === "string" ? String(form(req).email).trim().slice(0, 254) : "";
    const password = typeof form(req).password === "string" ? String(form(req).password) : "";
    const errors: Record<string, string> = {};
    const normalized = normalizeEmail(email);
    if (normalized === null) errors.email = "Enter an email address like name@example.com.";
    const problem = passwordProblem(password, email);
    if (problem) errors.password = problem;
    if (Object.keys(errors).length > 0) {
      res.status(400).render("register", { title: "Create an account", email, errors, next });
      return;
    }
    const passwordHash = await passwords.hash(password);
    const user = await users.create(normalized!, passwordHash, clock.now()); // a busy lock is waited out below (db/sql.ts)
    if (!user) {
      audit("register", "failure", { reason: "email taken", session: req.session.key });
      res.status(409).render("register", {
        title: "Create an account",
        email,
        errors: { email: "There is already an account with that email. Sign in instead?" },
        next,
      });
      return;
    }
    const previousSession = req.session.key;
    await sessions.regenerate(req.session, res, { userId: user.id });
    audit("register", "success", { userId: user.id, session: req.session.key, previousSession });
    flash.set(res, "success", "Your account is ready. Welcome to Stateful Shop!");
    res.redirect(303, next);
  });

  router.post("/logout", async (req, res) => {
    const { userId, key } = req.session;
    await sessions.destroy(req.session, res); // row deleted, cookie cleared: the old value is dead everywhere
    audit("sign-out", "success", { userId, session: key });
    flash.set(res, "info", "You have signed out.");
    res.redirect(303, "/");
  });

  return router;
}
