/**
 * Shared helpers for the end-to-end specs. Locators are role/label based, the way a shopper
 * (or a screen reader) finds things; the database is only ever opened read-only, to check
 * what a user cannot see (stock). Session records are asked of the store in use (SQLite, memory,
 * Redis) through the instructor dashboard (expectStored).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { expect, request, test, type APIRequestContext, type BrowserContext, type Cookie, type Locator, type Page } from "@playwright/test";

export const SESSION_COOKIE = "shop_sid";

/** A fresh address per call: tests run in parallel against one database. */
export function uniqueEmail(tag = "shopper"): string {
  return `e2e-${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

/** Long enough (>= 10) and not on the common-passwords list. */
export const PASSWORD = "correct horse battery staple";

export interface Account {
  email: string;
  password: string;
}

const pathnameOf = (page: Page) => (page.url().startsWith("http") ? new URL(page.url()).pathname : "");

/**
 * Register through the form and wait for the success flash, so the new session cookie is in
 * place afterwards. Uses the current page if it already is /register (e.g. reached with
 * ?next=…); otherwise opens /register, with `next` if given (where the shop sends you after).
 */
export async function register(
  page: Page,
  { account = { email: uniqueEmail(), password: PASSWORD }, next }: { account?: Account; next?: string } = {},
): Promise<Account> {
  if (pathnameOf(page) !== "/register") await page.goto(next ? `/register?next=${encodeURIComponent(next)}` : "/register");
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(flash(page)).toHaveText("Your account is ready. Welcome to Stateful Shop!");
  await expect(page.getByText(`Signed in as ${account.email}`)).toBeVisible();
  if (next) await expect(page).toHaveURL(new RegExp(`${next.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
  return account;
}

/**
 * Make an account without a browser page, for tests about something else (signing in, checkout).
 * Uses Playwright's `request` fixture, whose cookies are separate from the test's browser context,
 * so the page under test stays a signed-out guest. Like a browser, it opens the form first (which
 * sets the pre-session cookie and gives its token) and posts it with a same-origin form's headers.
 */
export async function createAccount(request: APIRequestContext, account: Account = { email: uniqueEmail(), password: PASSWORD }): Promise<Account> {
  const origin = new URL(String(test.info().project.use.baseURL)).origin;
  const form = await (await request.get("/register")).text();
  const csrf = /name="_csrf" value="([^"]*)"/.exec(form)?.[1] ?? "";
  const response = await request.post("/register", {
    form: { email: account.email, password: account.password, _csrf: csrf },
    headers: { origin, "sec-fetch-site": "same-origin" },
    maxRedirects: 0,
  });
  expect(response.status(), `registering ${account.email} through the form endpoint`).toBe(303);
  return account;
}

/** Sign in through the form on /login (or on the current page if it is already the login page). */
export async function signIn(page: Page, account: Account): Promise<void> {
  if (pathnameOf(page) !== "/login") await page.goto("/login");
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // "Welcome back, …." and, when the account had a saved cart, what came back of it.
  await expect(flash(page)).toContainText(`Welcome back, ${account.email}.`);
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(flash(page)).toHaveText("You have signed out.");
}

/** The flash message (role=status live region in the header). */
export const flash = (page: Page): Locator => page.getByRole("status");

/** The cart link in the header; its accessible name carries the count ("Cart, 2 items"). */
export const cartLink = (page: Page): Locator => page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: /^Cart, \d+ items?$/ });

export const cartLabel = (n: number) => `Cart, ${n} ${n === 1 ? "item" : "items"}`;

/** On a product page (opened unless already there), add `quantity` with the "Quantity" field and "Add to cart". */
export async function addFromProductPage(page: Page, slug: string, name: string, quantity = 1): Promise<void> {
  if (pathnameOf(page) !== `/products/${slug}`) await page.goto(`/products/${slug}`);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await page.getByLabel("Quantity", { exact: true }).fill(String(quantity));
  await page.getByRole("button", { name: "Add to cart", exact: true }).click();
  await expect(flash(page)).toHaveText(`Added ${quantity} × ${name} to your cart.`);
}

/** Fill and submit the checkout form; returns the order id from the confirmation URL. */
export async function placeOrder(page: Page, name = "Ada Lovelace"): Promise<number> {
  await expect(page.getByRole("heading", { level: 1, name: "Checkout" })).toBeVisible();
  await page.getByLabel("Full name").fill(name);
  await page.getByLabel("Shipping address").fill("12 Analytical Row\nLondon");
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByLabel("Expiry (MM/YY)").fill("12/39");
  await page.getByLabel("Security code").fill("123");
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page).toHaveURL(/\/orders\/\d+$/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByRole("heading", { level: 1, name: `Order #${id} is confirmed` })).toBeVisible();
  return id;
}

/** The shop_sid cookie of a context, or undefined. */
export async function sessionCookie(context: BrowserContext): Promise<Cookie | undefined> {
  return (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
}

/** The raw 43-character session ID inside a signed cookie value ("s%3A<id>.<sig>"). */
export function rawIdOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue);
  if (!decoded.startsWith("s:")) throw new Error(`not a signed cookie value: ${cookieValue}`);
  const id = decoded.slice(2, decoded.lastIndexOf("."));
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) throw new Error(`unexpected session id shape in ${cookieValue}`);
  return id;
}

/** What the sessions table stores instead of the ID: hex sha256 of the raw ID. */
export function idHashOf(cookieValue: string): string {
  return createHash("sha256").update(rawIdOf(cookieValue)).digest("hex");
}

/** The session technique of the shop this project runs against (playwright.config.ts: one project per technique). */
export type Technique = "sqlite" | "memory" | "cookie" | "redis" | "postgres";
export function technique(): Technique {
  return (test.info().project.metadata as { technique?: Technique }).technique ?? "sqlite";
}

/** The project's folder under E2E_DB_DIR (playwright.config.ts: its name). */
function projectDir(): string {
  const dir = process.env.E2E_DB_DIR;
  if (!dir) throw new Error("E2E_DB_DIR is not set (run through playwright.config.ts)");
  return path.join(dir, (test.info().project.metadata as { dir?: string }).dir ?? technique());
}

/** The server's SQLite file: the sessions of the sqlite technique, and the shop's data unless it is in PostgreSQL. */
export function dbPath(): string {
  return path.join(projectDir(), "shop.sqlite");
}

/** Where the shop's own data is: the `postgres-data` project keeps it in PostgreSQL (DATA_STORE=postgres). */
export function dataStore(): "sqlite" | "postgres" {
  return (test.info().project.metadata as { data?: "sqlite" | "postgres" }).data ?? "sqlite";
}

/** Read-only connection to the server's database. Close it when done (or use withDb). */
export function openDb(): Database.Database {
  return new Database(dbPath(), { readonly: true, fileMustExist: true });
}

export function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = openDb();
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The instructor password every e2e server is started with (playwright.config.ts). */
const INSTRUCTOR_PASSWORD = "e2e-instructor-password";

/**
 * The instructor dashboard of the server under test, signed in: it lists what the store in use
 * (SQLite, memory, Redis) actually holds. A context of its own, so the browser under test and its
 * cookies are untouched; the instructor's pass is not a shop session, so asking creates none.
 */
async function withInstructor<T>(fn: (dashboard: APIRequestContext, origin: string) => Promise<T>): Promise<T> {
  const baseURL = String(test.info().project.use.baseURL);
  const origin = new URL(baseURL).origin;
  const dashboard = await request.newContext({ baseURL });
  try {
    // The sign-in form first, as a browser would: it sets the pre-session cookie its token fits.
    const form = await (await dashboard.get("/instructor/login")).text();
    const csrf = /name="_csrf" value="([^"]*)"/.exec(form)?.[1] ?? "";
    const login = await dashboard.post("/instructor/login", {
      form: { password: INSTRUCTOR_PASSWORD, next: "/instructor", _csrf: csrf },
      headers: { origin, "sec-fetch-site": "same-origin" },
      maxRedirects: 0,
    });
    expect(login.status(), "the instructor signs in to the dashboard").toBe(303);
    return await fn(dashboard, origin);
  } finally {
    await dashboard.dispose();
  }
}

async function dashboardPage(dashboard: APIRequestContext): Promise<string> {
  const page = await dashboard.get("/instructor");
  expect(page.status(), "the instructor dashboard answers").toBe(200);
  const html = await page.text();
  // The dashboard of the server this project runs against, so the question goes to the store in use.
  expect(html, "the dashboard reports the technique under test").toContain(`data-testid="technique">${technique()}<`);
  return html;
}

/**
 * "Is this session stored on the server?", asked of the store actually in use, through the
 * instructor dashboard (it lists every stored record, live or expired-not-yet-swept, most recently
 * seen first, each with its full key in its Revoke button):
 * - stored: the record's key is in the list;
 * - not stored: its key is not in the list, and the dashboard's Expire button for that exact key
 *   answers "That session had already ended." (the store has no live record under it; expiring a
 *   missing key changes nothing).
 * The cookie technique has no server-side record to ask about: specs must say so explicitly
 * (expectNoServerSideSessions) instead of calling this.
 */
export async function expectStored(cookieValue: string, stored: boolean, message: string): Promise<void> {
  if (technique() === "cookie") {
    throw new Error("expectStored: the cookie technique stores nothing on the server; assert that difference in the spec (expectNoServerSideSessions)");
  }
  const key = idHashOf(cookieValue);
  const listed = `action="/instructor/sessions/${key}/revoke"`;
  await withInstructor(async (dashboard, origin) => {
    const html = await dashboardPage(dashboard);
    expect(html.includes(listed), `${message} (${technique()} store, as listed on the instructor dashboard)`).toBe(stored);
    if (stored) return;
    // The instructor pass's own CSRF token, from the dashboard's forms, as a browser would send it.
    const _instructor = /name="_instructor" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const expire = await dashboard.post(`/instructor/sessions/${key}/expire`, { form: { _instructor }, headers: { origin, "sec-fetch-site": "same-origin" } });
    expect(expire.status(), "Expire answers with the dashboard").toBe(200);
    expect(await expire.text(), `${message} (${technique()} store: Expire finds no live session under that key)`).toContain("That session had already ended.");
  });
}

/**
 * The cookie technique's difference, asserted rather than skipped: the server keeps no session
 * records at all (the dashboard has no table to show), so there is nothing a logout could delete.
 */
export async function expectNoServerSideSessions(message: string): Promise<void> {
  expect(technique(), "only the cookie technique keeps nothing on the server").toBe("cookie");
  await withInstructor(async (dashboard) => {
    const html = await dashboardPage(dashboard);
    expect(html, message).toContain("The cookie technique keeps nothing on the server, so there is no table of sessions");
    expect(html, `${message}: no session rows listed`).not.toContain('action="/instructor/sessions/');
  });
}

/** A product's stock, read where the shop keeps it (the SQLite file, or PostgreSQL for `postgres-data`). */
export async function stockOf(productId: number): Promise<number> {
  if (dataStore() === "sqlite") return withDb((db) => (db.prepare("SELECT stock FROM products WHERE id = ?").get(productId) as { stock: number }).stock);
  const client = new pg.Client({ connectionString: fs.readFileSync(path.join(projectDir(), "database-url"), "utf8") });
  await client.connect();
  try {
    return (await client.query<{ stock: number }>("SELECT stock FROM products WHERE id = $1", [productId])).rows[0]!.stock;
  } finally {
    await client.end();
  }
}

/** Put a cookie value into a (fresh) context, as if someone copied it out of another browser. */
export async function replaySessionCookie(context: BrowserContext, value: string, baseURL: string): Promise<void> {
  await context.addCookies([{ name: SESSION_COOKIE, value, url: baseURL }]);
}
