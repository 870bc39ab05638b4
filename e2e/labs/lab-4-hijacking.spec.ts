/** Lab 4, performed: the cookie is the session — a copy in another browser is the same shopper. HttpOnly hides it from scripts. */
import { expect, test } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, register, replaySessionCookie, SESSION_COOKIE, sessionCookie } from "../helpers.ts";

test("lab 4: a copied cookie opens the same cart and account in a second browser; page scripts cannot read it", async ({ page, context, browser, baseURL }) => {
  const account = await register(page);
  await addFromProductPage(page, "linen-apron", "Linen Apron", 1);
  await addFromProductPage(page, "stoneware-mug", "Stoneware Mug", 1);

  expect(await page.evaluate(() => document.cookie), "HttpOnly: document.cookie does not show the session cookie").not.toContain(SESSION_COOKIE);

  const thief = await browser.newContext();
  try {
    await replaySessionCookie(thief, (await sessionCookie(context))!.value, baseURL!);
    const other = await thief.newPage();
    await other.goto("/cart");
    await expect(cartLink(other)).toHaveAccessibleName(cartLabel(2));
    await expect(other.getByText(`Signed in as ${account.email}`)).toBeVisible();
  } finally {
    await thief.close();
  }
  await page.goto("/labs/4");
  await expect(page.getByRole("listitem").filter({ hasText: "HttpOnly: scripts can't read the cookie" })).toBeVisible();
});
