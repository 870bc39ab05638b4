/** Lab 7, performed with the demo clock: idle and absolute expiry, and the cleanup job removing rows the class can see. */
import { expect, test } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink } from "../helpers.ts";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  // Idle 30 min, absolute 2 h, cleanup every hour (so only "Sweep now" removes rows during the test).
  shop = await startShop({ SESSION_IDLE_SECONDS: "1800", SESSION_ABSOLUTE_SECONDS: "7200", SESSION_CLEANUP_SECONDS: "3600" });
});
test.afterAll(async () => shop.stop());

test("lab 7: fast-forwarding past the idle timeout expires a session, Sweep now removes its row, and activity cannot beat the absolute timeout", async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const dashboard = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await instructorSignIn(dashboard);
  const shopper = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await shopper.goto("/labs/7");
  await showXray(shopper);
  await addFromProductPage(shopper, "canvas-daypack", "Canvas Daypack", 1);

  await dashboard.reload();
  await expect(dashboard.getByTestId("live-count")).toHaveText("1");
  const row = dashboard.locator("tr[data-fingerprint]");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Guest");
  // The shopper's cart is sealed at rest: the dashboard, holding no cookie of theirs, cannot open it (lab 15).
  await expect(row).toContainText("sealed");

  // Idle: +31 min. The row is dead but still stored until the cleanup job runs.
  await dashboard.getByRole("button", { name: "+31 min" }).click();
  await expect(dashboard.getByRole("note").filter({ hasText: "Demo clock" })).toContainText("+31 min");
  await expect(dashboard.getByTestId("expired-count")).toHaveText("1");
  await expect(row).toContainText("waiting for cleanup");
  await lessonShot(dashboard, "lab-7-expired-waiting");
  await dashboard.getByRole("button", { name: "Sweep now" }).click();
  await expect(dashboard.getByRole("status")).toHaveText("Sweep now: the cleanup job removed 1 expired session.");
  await expect(row).toHaveCount(0);
  await lessonShot(dashboard, "lab-7-swept");
  await shopper.reload();
  await expect(cartLink(shopper)).toHaveAccessibleName(cartLabel(0));
  await expect(xray(shopper)).toContainText("Unknown ID");

  // Idle, seen by the shopper before any sweep.
  await addFromProductPage(shopper, "canvas-daypack", "Canvas Daypack", 1);
  await dashboard.getByRole("button", { name: "+31 min" }).click();
  await shopper.goto("/cart");
  await expect(xray(shopper)).toContainText("Expired: idle");

  // Absolute: keep the session busy every 25 min; after 2 h it ends anyway.
  await addFromProductPage(shopper, "canvas-daypack", "Canvas Daypack", 1);
  for (let step = 0; step < 5; step++) {
    await expect(xray(shopper), `still alive after ${step * 25} min of activity`).not.toContainText("Expired");
    await dashboard.getByLabel("Fast-forward by (minutes)").fill("25");
    await dashboard.getByRole("button", { name: "Fast-forward", exact: true }).click();
    await shopper.goto("/cart");
  }
  await expect(xray(shopper)).toContainText("Expired: absolute");
  await lessonShot(shopper, "lab-7-absolute");

  await dashboard.getByRole("button", { name: "Back to real time" }).click();
  await expect(dashboard.getByRole("note").filter({ hasText: "Demo clock" })).toHaveCount(0);
});
