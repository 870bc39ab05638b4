/**
 * Lab 12, performed in Chromium: eight simultaneous adds from one page (one session, as eight tabs
 * would). With the whole-session write-back on, the server acknowledges them and most are lost;
 * with the shop's atomic change, every acknowledged add is in the cart.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop({ CLASSROOM_VULNERABLE_LABS: "1" });
});
test.afterAll(async () => shop.stop());

async function setWriteBack(browser: Browser, on: boolean) {
  const context = await browser.newContext({ baseURL: shop.url });
  const page = await context.newPage();
  await instructorSignIn(page, "/labs/12");
  await page.getByRole("button", { name: on ? "Switch the vulnerable mode on" : "Switch the vulnerable mode off" }).click();
  await expect(page.getByText(`Vulnerable mode “lost updates”: ${on ? "ON" : "off"}.`)).toBeVisible();
  await context.close();
}

/** Start with 1 in the cart, fire the adds, and read the page's report: sent, acknowledged, in the cart. */
async function fire(page: Page) {
  await page.goto("/labs/12");
  await page.getByRole("button", { name: "Start: 1 in the cart" }).click();
  await expect(page.getByTestId("lab12-cart")).toHaveText("In the cart now: 1 × Glass Storage Jar.");
  await page.getByRole("button", { name: "Fire 8 adds at once" }).click();
  await expect(page).toHaveURL(/\/labs\/12\?sent=8&acked=\d+&before=1$/);
  const acked = Number(new URL(page.url()).searchParams.get("acked"));
  const inCart = Number(/In the cart now: (\d+) ×/.exec((await page.getByTestId("lab12-cart").textContent()) ?? "")?.[1]);
  return { acked, inCart };
}

test("lab 12: simultaneous adds are lost with a whole-session write-back, never with the atomic change", async ({ browser }) => {
  await setWriteBack(browser, true);
  const page = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await page.goto("/labs/12");
  await showXray(page);

  const naive = await fire(page);
  expect(naive.acked, "the server answered every add with “saved”").toBe(8);
  expect(naive.inCart, "most acknowledged adds are gone").toBeLessThan(1 + naive.acked);
  await expect(page.getByTestId("lab12-run")).toContainText(`Lost: ${1 + naive.acked - naive.inCart} of 8 acknowledged adds.`);
  await lessonShot(page, "lab-12-lost");
  // The X-ray names the broken write, on the next save.
  await page.getByRole("button", { name: "One slow add" }).click();
  await expect(xray(page)).toContainText("LAB (vulnerable): saved by writing back the whole session");

  await setWriteBack(browser, false);
  const atomic = await fire(page);
  expect(atomic.acked).toBe(8);
  expect(atomic.inCart, "every acknowledged add is in the cart").toBe(1 + atomic.acked);
  await expect(page.getByTestId("lab12-run")).toContainText("Nothing lost.");
  await lessonShot(page, "lab-12-nothing-lost");
});
