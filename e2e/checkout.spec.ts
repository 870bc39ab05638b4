/**
 * Checkout: signed-in shoppers only. Placing an order empties the cart and lowers stock in
 * the same transaction. Each test buys its own product, so parallel tests never share stock.
 */
import { expect, test } from "@playwright/test";
import { addFromProductPage, createAccount, cartLabel, cartLink, flash, placeOrder, register, signIn, stockOf } from "./helpers.js";

test.describe("checking out", () => {
  test("a signed-in shopper places an order: confirmation, order history, empty cart, lower stock", async ({ page }) => {
    // Product 25, Insulated Water Bottle: only this test buys it.
    await register(page, { next: "/products/insulated-water-bottle" });
    await addFromProductPage(page, "insulated-water-bottle", "Insulated Water Bottle", 2);
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(2));

    await cartLink(page).click();
    await expect(page.getByTestId("subtotal")).toHaveText("$58.00");
    await page.getByRole("link", { name: "Check out" }).click();
    await expect(page).toHaveURL(/\/checkout$/);
    await expect(page.getByText("2 × Insulated Water Bottle")).toBeVisible();

    const stockBefore = stockOf(25);
    const orderId = await placeOrder(page);
    await expect(flash(page)).toHaveText(`Thank you! Order #${orderId} is placed.`);
    await expect(page.getByRole("row", { name: /Insulated Water Bottle/ })).toContainText("$58.00");
    await expect(page.getByText("card ending in 4242")).toBeVisible();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
    expect(stockOf(25), "stock drops by the quantity bought").toBe(stockBefore - 2);

    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your orders" })).toBeVisible();
    const row = page.getByRole("row", { name: new RegExp(`Order #${orderId}\\b`) });
    await expect(row).toContainText("$58.00");
    await row.getByRole("link", { name: `Order #${orderId}` }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Order #${orderId} is confirmed` })).toBeVisible();

    await cartLink(page).click();
    await expect(page.getByText("Your cart is empty.")).toBeVisible();
  });

  test("a guest who clicks “Sign in to check out” comes back to checkout after signing in", async ({ page, request }) => {
    const account = await createAccount(request);

    // Product 26, Camping Lantern: this test does not buy it, but keeps to its own product anyway.
    await addFromProductPage(page, "camping-lantern", "Camping Lantern", 1);

    // Typing the address does not get a guest in either.
    await page.goto("/checkout");
    await expect(page).toHaveURL(/\/login\?next=%2Fcheckout$/);

    await cartLink(page).click();
    await expect(page.getByRole("link", { name: "Check out", exact: true })).toHaveCount(0);
    await page.getByRole("link", { name: "Sign in to check out" }).click();

    await expect(page).toHaveURL(/\/login\?next=%2Fcheckout$/);
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    await expect(page.locator('form[action="/login"] input[type="hidden"][name="next"]')).toHaveValue("/checkout");

    await signIn(page, account);
    await expect(page).toHaveURL(/\/checkout$/);
    await expect(page.getByRole("heading", { level: 1, name: "Checkout" })).toBeVisible();
    await expect(page.getByText("1 × Camping Lantern")).toBeVisible();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
  });
});
