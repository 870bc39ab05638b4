/**
 * Lab 2, performed on three real shops (SQLite, memory, cookie): the 4 KB wall of the cookie
 * technique, and a restart that wipes memory sessions while SQLite and cookie sessions survive.
 */
import { expect, test } from "@playwright/test";
import { cartLabel, cartLink, flash } from "../helpers.ts";
import { lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";

const shops: Record<string, ShopProcess> = {};
test.beforeAll(async () => {
  for (const t of ["sqlite", "memory", "cookie"]) shops[t] = await startShop({ SESSION_STORE: t, SHOP_LABEL: t });
});
test.afterAll(async () => {
  for (const shop of Object.values(shops)) await shop.stop();
});

test("lab 2: the cookie shop hits the 4 KB wall, the memory shop forgets on restart, the SQLite shop remembers", async ({ browser }) => {
  test.setTimeout(120_000);
  const pages: Record<string, import("@playwright/test").Page> = {};
  for (const [t, shop] of Object.entries(shops)) {
    const context = await browser.newContext({ baseURL: shop.url });
    const page = await context.newPage();
    pages[t] = page;
    await page.goto("/products/ceramic-teapot");
    await expect(page.getByRole("link", { name: new RegExp(`${t} · \\w+ sessions`, "i") })).toBeVisible();
    await page.getByRole("button", { name: "Add to cart", exact: true }).click();
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
    await page.goto("/labs/2");
    await showXray(page);
    await page.getByRole("button", { name: "Fill the cart with gift notes" }).click();
  }
  // The wall: refused with a message, and nothing changed.
  await expect(flash(pages.cookie!)).toContainText("Your cart no longer fits in a cookie");
  await expect(flash(pages.cookie!)).toContainText("Nothing was changed");
  await expect(cartLink(pages.cookie!)).toHaveAccessibleName(cartLabel(1));
  await lessonShot(pages.cookie!, "lab-2-cookie-wall");
  for (const t of ["sqlite", "memory"]) {
    await expect(flash(pages[t]!)).toContainText("and it fits");
    await expect(cartLink(pages[t]!)).toHaveAccessibleName(/^Cart, 1[0-9] items$/);
  }

  // Restart all three servers.
  for (const shop of Object.values(shops)) await shop.restart();
  for (const page of Object.values(pages)) await page.goto("/cart");
  await expect(cartLink(pages.memory!), "memory: the Map died with the process").toHaveAccessibleName(cartLabel(0));
  await expect(xray(pages.memory!)).toContainText("Unknown ID");
  await lessonShot(pages.memory!, "lab-2-memory-after-restart");
  await expect(cartLink(pages.sqlite!), "SQLite: the row is in the file").toHaveAccessibleName(/^Cart, 1[0-9] items$/);
  await expect(cartLink(pages.cookie!), "cookie: the cart was never on the server").toHaveAccessibleName(cartLabel(1));
  for (const page of Object.values(pages)) await page.context().close();
});
