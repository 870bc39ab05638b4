/** Lab 8, performed: with sequential IDs in an unsigned cookie, one student guesses the neighbour's number and wears their cart. */
import { expect, test } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, SESSION_COOKIE, sessionCookie } from "../helpers.ts";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop({ CLASSROOM_VULNERABLE_LABS: "1" });
});
test.afterAll(async () => shop.stop());

test("lab 8: sequential IDs let a student guess a neighbour's session; random signed IDs do not", async ({ browser }) => {
  const instructor = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await instructorSignIn(instructor, "/labs/8");
  await instructor.getByRole("button", { name: "Switch the vulnerable mode on" }).click();
  await expect(instructor.getByRole("alert").filter({ hasText: "Deliberately vulnerable lab mode is ON" })).toContainText("Predictable IDs");

  const a = await (await browser.newContext({ baseURL: shop.url })).newPage();
  const b = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await addFromProductPage(a, "wool-throw-blanket", "Wool Throw Blanket", 2);
  await b.goto("/labs/8");
  await showXray(b);
  await addFromProductPage(b, "dotted-notebook", "A5 Dotted Notebook", 1);
  const idA = (await sessionCookie(a.context()))!.value;
  const idB = (await sessionCookie(b.context()))!.value;
  expect(idA).toMatch(/^\d+$/);
  expect(Number(idB), "the next visitor got the next number").toBe(Number(idA) + 1);
  await expect(xray(b)).toContainText("sequential ID in an unsigned cookie");
  await lessonShot(b, "lab-8-sequential-id");

  // B edits the cookie to the number before its own.
  await b.context().addCookies([{ name: SESSION_COOKIE, value: String(Number(idB) - 1), url: shop.url }]);
  await b.goto("/cart");
  await expect(cartLink(b)).toHaveAccessibleName(cartLabel(2));
  await expect(b.getByRole("link", { name: "Wool Throw Blanket" })).toBeVisible();
  await lessonShot(b, "lab-8-neighbours-cart");

  await instructor.getByRole("button", { name: "Switch the vulnerable mode off" }).click();
  const c = await (await browser.newContext({ baseURL: shop.url })).newPage();
  await addFromProductPage(c, "dotted-notebook", "A5 Dotted Notebook", 1);
  expect((await sessionCookie(c.context()))!.value, "random and signed again").toMatch(/^s%3A[A-Za-z0-9_-]{43}\./);
});
