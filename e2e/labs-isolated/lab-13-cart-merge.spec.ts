/**
 * Lab 13, performed in Chromium for each merge policy, with a fresh account each time: the
 * instructor chooses the policy on the lab page; the shopper fills the saved cart, signs out,
 * fills a guest cart and signs in again — and reads, in the welcome message, every adjustment,
 * and in the cart, the result. It needs its own shop: the policy is the whole server's.
 */
import { expect, test, type Browser } from "@playwright/test";
import { instructorSignIn, lessonShot, startShop, type ShopProcess } from "../classroom.ts";
import { flash, register, signIn, signOut } from "../helpers.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop();
});
test.afterAll(async () => shop.stop());

const labels = { sum: "Add them up", larger: "Keep the larger quantity", newest: "The newest cart wins", account: "The account's cart wins" } as const;

async function choosePolicy(browser: Browser, policy: keyof typeof labels, shot?: string) {
  const context = await browser.newContext({ baseURL: shop.url });
  const page = await context.newPage();
  await instructorSignIn(page, "/labs/13");
  await page.getByRole("radio", { name: labels[policy] }).check();
  await page.getByRole("button", { name: "Use this policy" }).click();
  await expect(flash(page)).toHaveText(`Carts now merge at sign-in by “${labels[policy]}”. The next sign-in uses it.`);
  await expect(page.getByTestId("merge-policy")).toHaveText(labels[policy]);
  if (shot) await lessonShot(page, shot);
  await context.close();
}

const cases = [
  {
    policy: "sum",
    told: ["Stoneware Mug: 2 + 1 → 3", "Chef's Knife reduced to 10: at most 10 per product.", "Hand Coffee Grinder reduced to 3: only 3 left."],
    cart: "Stoneware Mug × 3, Chef's Knife × 10, Hand Coffee Grinder × 3, Linen Apron × 1, Enamel Dutch Oven × 1",
  },
  {
    policy: "larger",
    told: ["Stoneware Mug: kept the larger quantity, 2 (not 1).", "Chef's Knife: kept the larger quantity, 7 (not 6)."],
    cart: "Stoneware Mug × 2, Chef's Knife × 7, Hand Coffee Grinder × 2, Linen Apron × 1, Enamel Dutch Oven × 1",
  },
  {
    policy: "newest",
    told: ["This visit's cart was newer, so it replaced your saved cart."],
    cart: "Stoneware Mug × 2, Chef's Knife × 7, Hand Coffee Grinder × 2, Linen Apron × 1",
  },
  {
    policy: "account",
    told: ["Your saved cart replaced this visit's cart."],
    cart: "Stoneware Mug × 1, Chef's Knife × 6, Hand Coffee Grinder × 2, Enamel Dutch Oven × 1",
  },
] as const;

for (const { policy, told, cart } of cases) {
  test(`lab 13, ${policy}: the saved cart and the guest cart meet at sign-in, and the shopper is told every adjustment`, async ({ browser }) => {
    await choosePolicy(browser, policy, policy === "sum" ? "lab-13-switch" : undefined);
    const page = await (await browser.newContext({ baseURL: shop.url })).newPage();

    // A fresh account, its cart filled, then signed out: the cart is kept as the account's saved cart.
    const account = await register(page, { next: "/labs/13" });
    await page.getByRole("button", { name: "Fill the saved cart" }).click();
    await expect(flash(page)).toContainText("Now sign out: the shop keeps this cart for your account.");
    await expect(page.getByTestId("lab13-cart")).toHaveText(
      "Your cart now: Stoneware Mug × 1, Chef's Knife × 6, Hand Coffee Grinder × 2, Enamel Dutch Oven × 1.",
    );
    await signOut(page);

    await page.goto("/labs/13");
    await expect(page.getByTestId("lab13-cart")).toHaveText("Your cart now: empty.");
    await page.getByRole("button", { name: "Fill the guest cart" }).click();
    await expect(page.getByTestId("lab13-cart")).toHaveText("Your cart now: Stoneware Mug × 2, Chef's Knife × 7, Hand Coffee Grinder × 2, Linen Apron × 1.");

    await page.goto("/login?next=/labs/13");
    await signIn(page, account);
    await expect(page).toHaveURL(/\/labs\/13$/);
    await expect(flash(page)).toContainText(`Welcome back, ${account.email}. Your saved cart is back (10 items).`);
    await expect(flash(page).getByRole("listitem")).toHaveText([...told]);
    await expect(page.getByTestId("lab13-cart")).toHaveText(`Your cart now: ${cart}.`);
    // The row of the policy in force predicted exactly this.
    await expect(page.getByRole("row", { name: new RegExp(`^${labels[policy]} \\(in force\\)`) })).toContainText(cart);
    await lessonShot(page, `lab-13-${policy}`);
  });
}
