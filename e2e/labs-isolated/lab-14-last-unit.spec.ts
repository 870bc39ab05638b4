/**
 * Lab 14, performed in Chromium: two shoppers in two browser contexts, both signed in, one Trail
 * Compass left, and both press "Place order at the next 5-second mark" so the two orders leave
 * together. With "check, then decrement" on, both orders are placed and the lab page says oversold
 * by 1; with the shop's one-statement take, exactly one is, and the other shopper's checkout page
 * names the line that ran out.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { instructorSignIn, lessonShot, startShop, type ShopProcess } from "../classroom.ts";
import { flash, register } from "../helpers.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop({ CLASSROOM_VULNERABLE_LABS: "1" });
});
test.afterAll(async () => shop.stop());

/** The instructor: the vulnerable mode on or off, and one unit on the shelf. */
async function prepare(browser: Browser, vulnerable: boolean) {
  const context = await browser.newContext({ baseURL: shop.url });
  const page = await context.newPage();
  await instructorSignIn(page, "/labs/14");
  const mode = page.getByText(/^Vulnerable mode “check, then decrement”: (ON|off)\.$/);
  if (((await mode.textContent()) ?? "").includes("ON") !== vulnerable) {
    await page.getByRole("button", { name: vulnerable ? "Switch the vulnerable mode on" : "Switch the vulnerable mode off" }).click();
  }
  await expect(page.getByText(`Vulnerable mode “check, then decrement”: ${vulnerable ? "ON" : "off"}.`)).toBeVisible();
  await page.getByRole("button", { name: "Put one Trail Compass on the shelf" }).click();
  await expect(flash(page)).toHaveText("One Trail Compass left in stock. Shoppers: put it in your cart and place the order together.");
  await expect(page.getByTestId("lab14-status")).toContainText("Trail Compass in stock: 1.");
  if (vulnerable) await lessonShot(page, "lab-14-instructor");
  await context.close();
}

/** A fresh signed-in shopper with the unit in the cart, on the lab page. */
async function shopper(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await register(page, { next: "/labs/14" });
  await page.getByRole("button", { name: "Put the Trail Compass in my cart" }).click();
  await expect(flash(page)).toHaveText("Your cart is 1 × Trail Compass. Now place the order, at the same moment as the other shopper.");
  await expect(page.getByRole("button", { name: "Place order at the next 5-second mark" })).toBeVisible();
  return page;
}

/**
 * Both press the clock button. Pressed just after a mark, both wait for the same next mark (4 s or
 * more away), however slowly the two clicks go through: the orders leave together, every time.
 */
async function pressTogether(a: Page, b: Page) {
  const now = await a.evaluate(() => Date.now());
  if (now % 5000 > 500) await a.waitForTimeout(5000 - (now % 5000) + 50);
  await Promise.all([a, b].map((p) => p.getByRole("button", { name: "Place order at the next 5-second mark" }).click()));
  await expect(a.getByText(/^Placing the order at /)).toBeVisible();
}

/** Where a shopper's order ended: the confirmation, or the checkout page naming the line that ran out. */
async function outcome(page: Page): Promise<"placed" | "ran out"> {
  const heading = page.getByRole("heading", { level: 1 });
  await expect(heading).toHaveText(/^(Order #\d+ is confirmed|Checkout)$/, { timeout: 20_000 });
  return (await heading.textContent())?.startsWith("Order #") ? "placed" : "ran out";
}

test("lab 14: one unit, two orders at the same moment — both placed with check-then-decrement, exactly one with the shop's take", async ({ browser }) => {
  test.setTimeout(120_000);

  await prepare(browser, true);
  const [a, b] = [await shopper(browser), await shopper(browser)];
  await lessonShot(a, "lab-14-ready");
  await pressTogether(a, b);
  expect([await outcome(a), await outcome(b)], "both orders went through").toEqual(["placed", "placed"]);
  await lessonShot(b, "lab-14-both-placed");
  await a.goto("/labs/14");
  await expect(a.getByTestId("lab14-status")).toHaveText(
    "Trail Compass in stock: 0. Since the last unit was put out: 2 orders for 2 units. Oversold by 1: the shop sold a unit it did not have.",
  );
  await lessonShot(a, "lab-14-oversold");

  await prepare(browser, false);
  const [c, d] = [await shopper(browser), await shopper(browser)];
  await pressTogether(c, d);
  const outcomes = [await outcome(c), await outcome(d)];
  expect(outcomes.sort(), "exactly one order").toEqual(["placed", "ran out"]);
  const refused = (await outcome(c)) === "ran out" ? c : d;
  await expect(refused.getByRole("alert")).toContainText("Some items ran out while you were shopping, so nothing was charged:");
  await expect(refused.getByRole("alert")).toContainText("Trail Compass: you asked for 1, none are left.");
  await lessonShot(refused, "lab-14-ran-out");
  await refused.goto("/labs/14");
  await expect(refused.getByTestId("lab14-status")).toHaveText("Trail Compass in stock: 0. Since the last unit was put out: 1 order for 1 unit.");
});
