/**
 * A session that ends on its own says so, once, on every technique: idle expiry for a signed-in
 * shopper (the cart is waiting at the next sign-in) and for a guest, and the absolute limit.
 * Time is moved with the instructor's demo clock, so each technique gets a shop of its own (a
 * fast-forward on the shared e2e servers would expire every other test's sessions too).
 */
import { expect, test } from "@playwright/test";
import { startRedisServer } from "../../src/test/redis-server.ts";
import { instructorSignIn, startShop, type ShopProcess } from "../classroom.ts";
import { addFromProductPage, cartLabel, cartLink, PASSWORD, signIn, uniqueEmail } from "../helpers.ts";

for (const technique of ["sqlite", "memory", "cookie", "redis"] as const) {
  test.describe(`${technique} technique`, () => {
    let shop: ShopProcess;
    let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    test.beforeAll(async () => {
      if (technique === "redis") redis = await startRedisServer();
      shop = await startShop({
        SESSION_STORE: technique,
        ...(redis ? { REDIS_URL: redis.url } : {}),
        SESSION_IDLE_SECONDS: "1800",
        SESSION_ABSOLUTE_SECONDS: "7200",
        SESSION_CLEANUP_SECONDS: "3600",
      });
    });
    test.afterAll(async () => {
      await shop?.stop();
      await redis?.close();
    });

    test("after 30 idle minutes the shopper is told why, once, and the saved cart comes back at sign-in; a guest is told the cart was cleared", async ({
      browser,
    }) => {
      test.setTimeout(90_000);
      const context = await browser.newContext({ baseURL: shop.url });
      const dashboard = await (await browser.newContext({ baseURL: shop.url })).newPage();
      await instructorSignIn(dashboard);
      const notice = (p: typeof page) => p.locator(".session-ended");

      // A signed-in shopper with a cart goes idle.
      const page = await context.newPage();
      const account = { email: uniqueEmail(technique), password: PASSWORD };
      await page.goto("/register");
      await page.getByLabel("Email", { exact: true }).fill(account.email);
      await page.getByLabel("Password", { exact: true }).fill(account.password);
      await page.getByRole("button", { name: "Create account" }).click();
      await addFromProductPage(page, "french-press", "Glass French Press", 2);
      const guest = await (await browser.newContext({ baseURL: shop.url })).newPage();
      await addFromProductPage(guest, "wool-throw-blanket", "Wool Throw Blanket", 1);

      await dashboard.getByRole("button", { name: "+31 min" }).click();
      await expect(dashboard.getByRole("note").filter({ hasText: "Demo clock" })).toContainText("+31 min");

      await page.goto("/");
      await expect(notice(page)).toHaveText(
        "You were signed out after 30 minutes without activity. Your cart was saved to your account — sign in to get it back.",
      );
      await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
      await page.reload();
      await expect(notice(page), "shown once: the next page is quiet").toHaveCount(0);
      await signIn(page, account);
      await expect(cartLink(page)).toHaveAccessibleName(cartLabel(2));

      await guest.goto("/");
      await expect(notice(guest)).toHaveText("Your cart was cleared after 30 minutes without activity.");
      await guest.reload();
      await expect(notice(guest)).toHaveCount(0);

      // However active, a session ends at the absolute limit (2 h here), and says so.
      for (let step = 0; step < 5; step++) {
        await dashboard.getByLabel("Fast-forward by (minutes)").fill("25");
        await dashboard.getByRole("button", { name: "Fast-forward", exact: true }).click();
        await page.goto("/cart");
        if (step < 4) await expect(notice(page), `still signed in after ${(step + 1) * 25} min of activity`).toHaveCount(0);
      }
      await expect(notice(page)).toHaveText(
        "You were signed out: a session lasts at most 2 hours, however active. Your cart was saved to your account — sign in to get it back.",
      );
      await dashboard.getByRole("button", { name: "Back to real time" }).click();
      await context.close();
    });
  });
}
