/**
 * Every kind of page, checked as a user meets it (e2e/page-checks.ts): valid HTML, no serious or
 * critical axe violation at 1280 px and at 390 px, no horizontal overflow on a phone; plus the two
 * things axe cannot judge for us: a working skip link and a cart badge that says what it means.
 */
import { expect, test, type Page } from "@playwright/test";
import { labs } from "../src/classroom/labs.ts";
import { expectGoodPage, recordDocuments } from "./page-checks.ts";
import { addFromProductPage, cartLabel, cartLink, placeOrder, register, technique } from "./helpers.ts";
import { instructorSignIn, showXray } from "./classroom.ts";

const guestPages: [string, string, string][] = [
  ["category page", "/categories/outdoors", "Outdoors"],
  ["home page", "/", "Good things for slow mornings"],
  ["product page", "/products/wool-beanie", "Wool Beanie"],
  ["search results", "/?q=linen", "Results for “linen”"],
  ["sign-in page", "/login", "Sign in"],
  ["registration page", "/register", "Create an account"],
  ["404 page", "/no-such-page", "Not found"],
];

/**
 * Visit each page in one browser page: on a small machine, a new page (a new renderer) and the
 * first axe run in it (compiling axe) cost more than several further pages together.
 */
async function checkPages(page: Page, pages: [string, string, string][]) {
  for (const [what, url, heading] of pages) {
    await test.step(what, async () => {
      // The first page may already be open (the skip-link check): no need to load it twice.
      const current = new URL(page.url());
      const response = current.pathname + current.search === url ? null : await page.goto(url);
      if (response && what === "404 page") expect.soft(response.status(), "404 status").toBe(404);
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
      // Soft: a problem on one page still lets the others be checked and reported.
      await expectGoodPage(page, what);
    });
  }
}

test.describe("accessibility", () => {
  // Each page is validated and checked by axe twice (1280 and 390 px): the classroom test covers about
  // fifteen pages, which takes 20-40 s alone and over a minute on a loaded two-core CI machine.
  test.describe.configure({ timeout: 180_000 });
  test.beforeEach(({ page }) => recordDocuments(page));
  test("the catalog, search, sign-in, registration and 404 pages have no serious accessibility problems", async ({ page }) => {
    await test.step("the skip link comes first and the cart badge has an accessible name", async () => {
      await page.goto("/categories/outdoors");
      await page.keyboard.press("Tab");
      const skip = page.getByRole("link", { name: "Skip to main content" });
      await expect(skip).toBeFocused();
      await expect(skip).toHaveAttribute("href", "#main");
      await expect(page.getByRole("main")).toHaveAttribute("id", "main");
      await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
    });
    await checkPages(page, guestPages);
  });

  test("the cart, checkout, order confirmation, order history and lab 14's order form have no serious accessibility problems", async ({ page }) => {
    // Product 30, Wicker Picnic Basket: only this test buys it.
    await addFromProductPage(page, "picnic-basket", "Wicker Picnic Basket", 1);
    await register(page, { next: "/cart" });
    await expect(page.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
    await expect(page.getByLabel("Quantity of Wicker Picnic Basket")).toHaveValue("1");
    await expectGoodPage(page, "cart with items");

    await page.getByRole("link", { name: "Check out" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Checkout" })).toBeVisible();
    await expectGoodPage(page, "checkout");

    await placeOrder(page);
    await expectGoodPage(page, "order confirmation");

    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your orders" })).toBeVisible();
    await expectGoodPage(page, "order history");

    for (const [what, url] of [
      ["account page", "/account"],
      ["your sessions", "/account/sessions"],
    ] as const) {
      await page.goto(url);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await expectGoodPage(page, what);
    }

    // Lab 14 as a signed-in shopper with the last unit in the cart: its order form appears.
    await page.goto("/labs/14");
    await page.getByRole("button", { name: "Put the Trail Compass in my cart" }).click();
    await expect(page.getByRole("button", { name: "Place order now" })).toBeVisible();
    await expectGoodPage(page, "lab 14 with a signed-in shopper's order form");
  });

  // The classroom in three tests (they run side by side): about twenty pages, each checked at two
  // widths, took 1.5 min in one test on a loaded machine, near its budget.
  async function checkLabPages(page: Page, numbers: number[]) {
    for (const n of numbers) {
      await page.goto(`/labs/${n}`);
      await expect(page.getByRole("heading", { level: 1, name: new RegExp(`^Lab ${n}: `) })).toBeVisible();
      await expectGoodPage(page, `lab ${n}`);
    }
  }
  const firstWave = labs.map((l) => l.number).filter((n) => n < 10);
  const secondWave = labs.map((l) => l.number).filter((n) => n >= 10);

  test("the classroom layer: the labs page, the X-ray panel and labs 1–8 have no serious accessibility problems", async ({ page }) => {
    await page.goto("/labs");
    await expect(page.getByRole("heading", { level: 1, name: "Session labs" })).toBeVisible();
    await expectGoodPage(page, "the labs");
    await showXray(page);
    await addFromProductPage(page, "ceramic-teapot", "Ceramic Teapot", 1);
    await expectGoodPage(page, "product page with the X-ray open");
    await checkLabPages(page, firstWave);
  });

  test("the classroom layer: labs 10–15 have no serious accessibility problems", async ({ page }) => {
    expect(secondWave.length, "the second wave of labs is listed").toBeGreaterThanOrEqual(5);
    // As in the first wave: X-ray open, something in the cart.
    await page.goto("/labs");
    await showXray(page);
    await addFromProductPage(page, "ceramic-teapot", "Ceramic Teapot", 1);
    await checkLabPages(page, secondWave);
  });

  test("the classroom layer: the instructor's sign-in, dashboard and lab switches have no serious accessibility problems", async ({ page }) => {
    await page.goto("/instructor/login");
    await expectGoodPage(page, "instructor sign-in");
    await instructorSignIn(page);
    await expect(page.getByRole("heading", { level: 1, name: "Instructor dashboard" })).toBeVisible();
    await expectGoodPage(page, "instructor dashboard");
    // Lab pages whose instructor's switch is more than one button: checked as the instructor sees them.
    await page.goto("/labs/13");
    await expect(page.getByRole("button", { name: "Use this policy" })).toBeVisible();
    await expectGoodPage(page, "lab 13 with the instructor's merge-policy switch");
    await page.goto("/labs/14");
    await expect(page.getByRole("button", { name: "Put one Trail Compass on the shelf" })).toBeVisible();
    await expectGoodPage(page, "lab 14 with the instructor's shelf button");
    // Lab 15 shows the instructor more than a shopper: the thief's table, then a tried hash's refusal
    // (last: the try replaces this browser's session cookie). The cookie technique has no table.
    await page.goto("/labs/15");
    await expectGoodPage(page, "lab 15, the instructor's view");
    if (technique() === "cookie") {
      await expect(page.getByText("there is no table to steal")).toBeVisible();
    } else {
      const key = (await page.getByTestId("thief-table").locator("tr[data-key]").first().getAttribute("data-key"))!;
      await page.getByLabel("A key from the table (64 hex digits)").fill(key);
      await page.getByRole("button", { name: "Send it as my session cookie" }).click();
      await expect(page.getByTestId("lab15-attempt")).toContainText("Refused.");
      await expectGoodPage(page, "lab 15, a hash refused");
    }
  });
});
