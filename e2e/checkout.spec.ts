/**
 * Checkout: signed-in shoppers only. Placing an order empties the cart and lowers stock in
 * the same transaction. Each test buys its own product, so parallel tests never share stock.
 */
import { expect, test } from "@playwright/test";
import { addFromProductPage, createAccount, cartLabel, cartLink, flash, placeOrder, register, signIn, stockOf } from "./helpers.ts";

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

    const stockBefore = await stockOf(25);
    const orderId = await placeOrder(page);
    await expect(flash(page)).toHaveText(`Thank you! Order #${orderId} is placed.`);
    await expect(page.getByRole("row", { name: /Insulated Water Bottle/ })).toContainText("$58.00");
    await expect(page.getByText("card ending in 4242")).toBeVisible();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
    expect(await stockOf(25), "stock drops by the quantity bought").toBe(stockBefore - 2);

    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your orders" })).toBeVisible();
    const row = page.getByRole("row", { name: new RegExp(`Order #${orderId}\\b`) });
    await expect(row).toContainText("$58.00");
    await row.getByRole("link", { name: `Order #${orderId}` }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Order #${orderId} is confirmed` })).toBeVisible();

    await cartLink(page).click();
    await expect(page.getByText("Your cart is empty.")).toBeVisible();
  });

  test("the same checkout form sent twice (a lost answer, a retry) places one order and shows it again", async ({ page }) => {
    // Product 29, Wool Beanie: only this test buys it.
    await register(page, { next: "/products/wool-beanie" });
    await addFromProductPage(page, "wool-beanie", "Wool Beanie", 1);
    await page.goto("/checkout");
    const token = page.locator('form[action="/checkout"] input[type="hidden"][name="checkoutToken"]');
    await expect(token).toHaveValue(/^[A-Za-z0-9_-]{22}$/);
    const sent = { checkoutToken: await token.inputValue(), _csrf: await page.locator('form[action="/checkout"] input[name="_csrf"]').inputValue() };
    const stockBefore = await stockOf(29);
    const orderId = await placeOrder(page);
    // The same form again, as a browser retrying the submission would send it (same token).
    const replay = await page.request.post("/checkout", {
      form: {
        ...sent,
        name: "Ada Lovelace",
        address: "12 Analytical Row\nLondon",
        card: "4242 4242 4242 4242",
        expiry: "12/39",
        cvc: "123",
      },
      headers: { origin: new URL(page.url()).origin, "sec-fetch-site": "same-origin" },
      maxRedirects: 0,
    });
    expect(replay.status()).toBe(303);
    expect(replay.headers().location).toBe(`/orders/${orderId}`);
    await page.goto(replay.headers().location!);
    await expect(flash(page)).toContainText("already placed");
    expect(await stockOf(29), "stock dropped once").toBe(stockBefore - 1);
    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await expect(page.getByRole("row", { name: /Order #\d+/ })).toHaveCount(1);
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
