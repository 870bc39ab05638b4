/** Lab 5, performed: with the fixation mode on, an attacker rides the victim's login; with it off, login rotates the ID and keeps the cart. */
import { expect, test, type Browser } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, register, sessionCookie } from "../helpers.ts";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop({ CLASSROOM_VULNERABLE_LABS: "1" });
});
test.afterAll(async () => shop.stop());

async function setFixation(browser: Browser, on: boolean) {
  const context = await browser.newContext({ baseURL: shop.url });
  const page = await context.newPage();
  await instructorSignIn(page, "/labs/5");
  await page.getByRole("button", { name: on ? "Switch the vulnerable mode on" : "Switch the vulnerable mode off" }).click();
  await expect(page.getByText(`Vulnerable mode “session fixation”: ${on ? "ON" : "off"}.`)).toBeVisible();
  if (on) await expect(page.getByRole("alert").filter({ hasText: "Deliberately vulnerable lab mode is ON" })).toBeVisible();
  await context.close();
}

test("lab 5: the vulnerable shop lets a planted ID ride the victim's login; the fixed shop rotates the ID", async ({ browser }) => {
  await setFixation(browser, true);
  const attacker = await (await browser.newContext({ baseURL: shop.url })).newPage();
  const victim = await (await browser.newContext({ baseURL: shop.url })).newPage();

  await attacker.goto("/labs/5");
  await attacker.getByRole("button", { name: "Prepare a trap link" }).click();
  const trap = await attacker.getByTestId("trap-link").getAttribute("href");
  expect(trap).toMatch(/^\/\?sid=[A-Za-z0-9_-]{43}$/);
  await attacker.goto(trap!);
  await lessonShot(attacker, "lab-5-trap-link");

  await victim.goto(trap!);
  await showXray(victim);
  await addFromProductPage(victim, "dotted-notebook", "A5 Dotted Notebook", 1);
  const account = await register(victim);
  await expect(xray(victim)).toContainText("signed in WITHOUT changing the ID");
  await lessonShot(victim, "lab-5-victim-kept-id");

  await attacker.goto("/orders");
  await expect(attacker.getByText(`Signed in as ${account.email}`), "the attacker now shares the victim's account").toBeVisible();
  await expect(cartLink(attacker)).toHaveAccessibleName(cartLabel(1));
  await lessonShot(attacker, "lab-5-attacker-signed-in");

  // The fix.
  await setFixation(browser, false);
  const victim2 = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await victim2.goto(trap!.replace(/sid=.*/, `sid=${"A".repeat(43)}`));
  expect(await sessionCookie(victim2.context()), "the fixed shop ignores ?sid=").toBeUndefined();
  await showXray(victim2);
  await addFromProductPage(victim2, "dotted-notebook", "A5 Dotted Notebook", 1);
  const before = (await sessionCookie(victim2.context()))!.value;
  await register(victim2);
  expect((await sessionCookie(victim2.context()))!.value, "login issues a new ID").not.toBe(before);
  await expect(xray(victim2)).toContainText("Regenerated at login: old ID deleted, a new ID issued, cart kept.");
  await expect(cartLink(victim2)).toHaveAccessibleName(cartLabel(1));
  await lessonShot(victim2, "lab-5-fixed-regenerated");
});
