/**
 * A guest shops without an account: browse, search, add, change, remove, empty, reload.
 * The session is lazy: looking around stores nothing, the first add creates the cookie.
 */
import { expect, test } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, flash, sessionCookie, expectNoServerSideSessions, expectStored, technique } from "./helpers.ts";

test.describe("a guest shopping without an account", () => {
  test("browses, searches, fills a cart, changes it, reloads and empties it; the first add creates the session cookie", async ({ page, context }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1, name: "Good things for slow mornings" })).toBeVisible();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));

    await page.getByRole("navigation", { name: "Categories" }).getByRole("link", { name: "Kitchen" }).click();
    await expect(page).toHaveURL(/\/categories\/kitchen$/);
    await expect(page.getByRole("heading", { level: 1, name: "Kitchen" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Categories" }).getByRole("link", { name: "Kitchen" })).toHaveAttribute("aria-current", "page");
    await expect(page.getByRole("link", { name: "Cast Iron Skillet" })).toBeVisible();

    await page.getByLabel("Search products").fill("teapot");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(page).toHaveURL(/\/\?q=teapot$/);
    await expect(page.getByRole("heading", { level: 1, name: "Results for “teapot”" })).toBeVisible();
    await expect(page.getByText("1 product found.")).toBeVisible();

    await page.getByRole("link", { name: "Ceramic Teapot" }).click();
    await expect(page).toHaveURL(/\/products\/ceramic-teapot$/);
    await expect(page.getByRole("heading", { level: 1, name: "Ceramic Teapot" })).toBeVisible();
    await expect(page.getByText("$42.00")).toBeVisible();
    await expect(page.getByText("In stock")).toBeVisible();

    // Four page views, nothing stored: no session, no cookie.
    expect(await sessionCookie(context), "looking around stores nothing").toBeUndefined();

    // The first add creates the session and its cookie.
    await page.getByLabel("Quantity", { exact: true }).fill("2");
    await page.getByRole("button", { name: "Add to cart", exact: true }).click();
    await expect(flash(page)).toHaveText("Added 2 × Ceramic Teapot to your cart.");

    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(2));

    const cookie = await sessionCookie(context);
    expect(cookie, "the first add creates the session cookie").toBeDefined();
    expect(cookie!.httpOnly).toBe(true);
    expect(cookie!.sameSite).toBe("Lax");
    expect(cookie!.path).toBe("/");
    if (technique() === "cookie") {
      // The cookie technique: the whole cart, sealed (AES-256-GCM), and nothing on the server.
      expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{60,}$/);
      await expectNoServerSideSessions("cookie technique: the cart lives in the cookie, the server stores no session");
    } else {
      expect(cookie!.value).toMatch(/^s%3A[A-Za-z0-9_-]{43}\./);
      await expectStored(cookie!.value, true, "a session record keyed by sha256(ID), in the store in use");
    }

    await cartLink(page).click();
    await expect(page.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
    await expect(page.getByTestId("subtotal")).toHaveText("$84.00");

    // A second product, from a card in a category grid: it comes back to the same page.
    await page.getByRole("navigation", { name: "Categories" }).getByRole("link", { name: "Tea & Coffee" }).click();
    await page.getByRole("button", { name: "Add Stoneware Mug to cart" }).click();
    await expect(flash(page)).toHaveText("Added 1 × Stoneware Mug to your cart.");
    await expect(page).toHaveURL(/\/categories\/tea-coffee$/);
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(3));

    await cartLink(page).click();
    await page.getByLabel("Quantity of Stoneware Mug").fill("3");
    await page.getByRole("button", { name: "Update Stoneware Mug" }).click();
    await expect(flash(page)).toHaveText("Stoneware Mug: quantity set to 3.");
    await expect(page.getByLabel("Quantity of Stoneware Mug")).toHaveValue("3");
    await expect(page.getByTestId("subtotal")).toHaveText("$138.00");
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(5));

    // The cart lives on the server: a reload shows the same cart, under the same cookie.
    await page.reload();
    await expect(page.getByTestId("subtotal")).toHaveText("$138.00");
    await expect(page.getByLabel("Quantity of Ceramic Teapot")).toHaveValue("2");
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(5));
    if (technique() === "cookie") {
      // The difference: the cart is inside the cookie, so every change re-seals it into a new value.
      expect((await sessionCookie(context))?.value, "cookie technique: a change re-seals the cookie").not.toBe(cookie!.value);
    } else {
      expect((await sessionCookie(context))?.value, "changing the cart keeps the session ID").toBe(cookie!.value);
    }

    await page.getByRole("button", { name: "Remove Stoneware Mug" }).click();
    await expect(flash(page)).toHaveText("Removed Stoneware Mug from your cart.");
    await expect(page.getByRole("link", { name: "Stoneware Mug" })).toHaveCount(0);
    await expect(page.getByTestId("subtotal")).toHaveText("$84.00");
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(2));

    await page.getByRole("button", { name: "Empty cart" }).click();
    await expect(flash(page)).toHaveText("Your cart is empty now.");
    await expect(page.getByText("Your cart is empty.")).toBeVisible();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));

    await page.reload();
    await expect(page.getByText("Your cart is empty.")).toBeVisible();
  });

  test("sees low and sold-out stock, and cannot put more in the cart than the shop has", async ({ page }) => {
    await page.goto("/products/hand-coffee-grinder");
    await expect(page.getByText(/^Only \d left$/)).toBeVisible();
    await page.goto("/categories/stationery");
    await expect(page.getByRole("button", { name: "Add Fountain Pen to cart" })).toBeDisabled();
    await page.getByRole("link", { name: "Fountain Pen" }).click();
    await expect(page.getByText("Sold out", { exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Add to cart", exact: true })).toHaveCount(0);

    // Product 11 has 2 in stock; nobody checks it out in this suite.
    await addFromProductPage(page, "enamel-dutch-oven", "Enamel Dutch Oven", 1);
    await expect(page.getByText("Only 2 left")).toBeVisible();
    await cartLink(page).click();
    const quantity = page.getByLabel("Quantity of Enamel Dutch Oven");
    await quantity.fill("3");
    // The browser's max= would block the submit; the server's rule is what matters, so lift it.
    await quantity.evaluate((el) => el.removeAttribute("max"));
    await page.getByRole("button", { name: "Update Enamel Dutch Oven" }).click();
    await expect(flash(page)).toHaveText("Only 2 of Enamel Dutch Oven left in stock; your cart would have 3.");
    await expect(quantity).toHaveValue("1");
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
  });
});
