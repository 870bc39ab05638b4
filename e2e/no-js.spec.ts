/**
 * Progressive enhancement: every step is a plain link or form POST with a redirect, so the
 * whole journey works with JavaScript switched off.
 */
import { expect, test } from "@playwright/test";
import { PASSWORD, cartLabel, cartLink, flash, placeOrder, stockOf, uniqueEmail } from "./helpers.ts";

test.use({ javaScriptEnabled: false });

test("with JavaScript disabled, a shopper adds, changes the quantity, registers and checks out", async ({ page }) => {
  // Product 28, Trail Compass: only this test buys it.
  await page.goto("/products/trail-compass");
  await expect(page.getByRole("heading", { level: 1, name: "Trail Compass" })).toBeVisible();
  await page.getByLabel("Quantity", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Add to cart", exact: true }).click();
  await expect(flash(page)).toHaveText("Added 1 × Trail Compass to your cart.");
  await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));

  await cartLink(page).click();
  await page.getByLabel("Quantity of Trail Compass").fill("3");
  await page.getByRole("button", { name: "Update Trail Compass" }).click();
  await expect(flash(page)).toHaveText("Trail Compass: quantity set to 3.");
  await expect(page.getByTestId("subtotal")).toHaveText("$72.00");

  await page.getByRole("link", { name: "Sign in to check out" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/register\?next=%2Fcheckout$/);

  const email = uniqueEmail("nojs");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/checkout$/);
  await expect(flash(page)).toHaveText("Your account is ready. Welcome to Stateful Shop!");
  await expect(page.getByText("3 × Trail Compass")).toBeVisible();

  const stockBefore = await stockOf(28);
  const orderId = await placeOrder(page, "Grace Hopper");
  await expect(flash(page)).toHaveText(`Thank you! Order #${orderId} is placed.`);
  await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
  expect(await stockOf(28)).toBe(stockBefore - 3);
});
