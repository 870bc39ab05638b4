/**
 * Automated accessibility checks (axe-core) on every kind of page, plus the two things axe
 * cannot judge for us: a working skip link and a cart badge that says what it means.
 */
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, placeOrder, register } from "./helpers";

async function expectNoSeriousViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = serious
    .map((v) => `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\n/g, " ")}`).join("\n")}`)
    .join("\n");
  expect(serious, `${what} (${page.url()}) has serious/critical axe violations:\n${report}`).toEqual([]);
}

const guestPages: [string, string, string][] = [
  ["home page", "/", "Good things for slow mornings"],
  ["category page", "/categories/outdoors", "Outdoors"],
  ["product page", "/products/wool-beanie", "Wool Beanie"],
  ["search results", "/?q=linen", "Results for “linen”"],
  ["sign-in page", "/login", "Sign in"],
  ["registration page", "/register", "Create an account"],
  ["404 page", "/no-such-page", "Not found"],
];

test.describe("accessibility", () => {
  for (const [what, url, heading] of guestPages) {
    test(`the ${what} has no serious accessibility problems`, async ({ page }) => {
      const response = await page.goto(url);
      if (what === "404 page") expect(response?.status()).toBe(404);
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
      await expectNoSeriousViolations(page, what);
    });
  }

  test("every page starts with a skip link, and the cart badge has an accessible name", async ({ page }) => {
    await page.goto("/products/wool-beanie");
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to main content" });
    await expect(skip).toBeFocused();
    await expect(skip).toHaveAttribute("href", "#main");
    await expect(page.getByRole("main")).toHaveAttribute("id", "main");
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));

    await page.getByRole("button", { name: "Add to cart", exact: true }).click();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
  });

  test("the cart, checkout, order confirmation and order history have no serious accessibility problems", async ({ page }) => {
    // Product 30, Wicker Picnic Basket (bought here) and 29, Wool Beanie (left in the cart page check).
    await addFromProductPage(page, "picnic-basket", "Wicker Picnic Basket", 1);
    await addFromProductPage(page, "wool-beanie", "Wool Beanie", 2);
    await cartLink(page).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
    await expectNoSeriousViolations(page, "guest cart with items");

    await register(page);
    await cartLink(page).click();
    await page.getByRole("button", { name: "Remove Wool Beanie" }).click();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
    await expectNoSeriousViolations(page, "signed-in cart with items");

    await page.getByRole("link", { name: "Check out" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Checkout" })).toBeVisible();
    await expectNoSeriousViolations(page, "checkout");

    // The checkout form with errors (aria-invalid, described-by messages) must hold up too.
    await page.getByRole("button", { name: "Place order" }).click();
    await expect(page.getByText("Enter your name.")).toBeVisible();
    await expectNoSeriousViolations(page, "checkout with errors");

    await placeOrder(page);
    await expectNoSeriousViolations(page, "order confirmation");

    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your orders" })).toBeVisible();
    await expectNoSeriousViolations(page, "order history");
  });
});
