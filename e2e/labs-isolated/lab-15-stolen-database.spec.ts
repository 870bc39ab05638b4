/**
 * Lab 15, performed in Chromium on a SQLite shop of its own: a shopper fills a cart with a gift
 * note; the instructor shows the records as a thief with a copy of the database file sees them
 * (hashed keys, sealed blobs, no cart) beside the instructor's own record opened with its cookie;
 * then the thief, in a third browser, sends the shopper's key back as the session cookie and is
 * refused — and the shopper's cart is still there. The database file itself is read too, with a
 * separate connection, as the thief would.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { expect, test } from "@playwright/test";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";
import { addFromProductPage, cartLabel, cartLink, idHashOf, sessionCookie } from "../helpers.ts";

const NOTE = "For Ada, happy birthday";
let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop();
});
test.afterAll(async () => shop.stop());

test("lab 15: a copy of the sessions table shows hashed keys and sealed carts; a hash sent back as the cookie is refused", async ({ browser }) => {
  // The shopper: two teapots with a gift note.
  const shopperContext = await browser.newContext({ baseURL: shop.url });
  const shopper = await shopperContext.newPage();
  await addFromProductPage(shopper, "ceramic-teapot", "Ceramic Teapot", 2);
  await shopper.goto("/cart");
  await shopper.getByLabel("Gift note for Ceramic Teapot").fill(NOTE);
  await shopper.getByRole("button", { name: "Save note for Ceramic Teapot" }).click();
  await expect(shopper.getByLabel("Gift note for Ceramic Teapot")).toHaveValue(NOTE);
  const shopperKey = idHashOf((await sessionCookie(shopperContext))!.value);

  // The instructor, with a cart of their own, shows the table on the projector.
  const teacherContext = await browser.newContext({ baseURL: shop.url, viewport: { width: 1280, height: 900 } });
  const teacher = await teacherContext.newPage();
  await instructorSignIn(teacher, "/labs/15");
  await addFromProductPage(teacher, "french-press", "Glass French Press", 1);
  await teacher.goto("/labs/15");
  const table = teacher.getByTestId("thief-table");
  await expect(table).toBeVisible();
  const shopperRow = table.locator(`tr[data-key="${shopperKey}"]`);
  await expect(shopperRow.getByRole("rowheader")).toContainText(shopperKey);
  await expect(shopperRow).toContainText('{"sealed":"v1.');
  await expect(table).not.toContainText("Ceramic Teapot");
  await expect(table).not.toContainText(NOTE);
  await expect(table).not.toContainText("productId");
  await expect(teacher.getByTestId("opens-with-hash")).toHaveText("0");
  // Beside it: the instructor's own record, sealed as stored, readable when opened with the cookie.
  await expect(teacher.getByTestId("own-stored")).toContainText('{"sealed":"v1.');
  await expect(teacher.getByTestId("own-opened")).toHaveText("1 × Glass French Press");
  await lessonShot(teacher, "lab-15-thief-view");

  // What is on disk, read with a separate connection as from a stolen copy of the file.
  const file = new Database(path.join(shop.dir, "shop.sqlite"), { readonly: true, fileMustExist: true });
  const rows = file.prepare("SELECT id_hash, data FROM sessions").all() as { id_hash: string; data: string }[];
  file.close();
  expect(rows.map((r) => r.id_hash)).toContain(shopperKey);
  for (const row of rows) expect(row.data).not.toMatch(/Ada|productId|quantity/);

  // The thief pastes the shopper's key in a browser of their own.
  const thiefContext = await browser.newContext({ baseURL: shop.url });
  const thief = await thiefContext.newPage();
  await thief.goto("/labs/15");
  await showXray(thief);
  await thief.getByLabel("A key from the table (64 hex digits)").fill(shopperKey);
  await thief.getByRole("button", { name: "Send it as my session cookie" }).click();
  await expect(thief).toHaveURL(`${shop.url}/labs/15?tried=${shopperKey}`);
  const attempt = thief.getByTestId("lab15-attempt");
  await expect(attempt).toContainText("Refused.");
  await expect(attempt).toContainText("no row has that key");
  await expect(attempt).toContainText("HKDF(hash) does not open it");
  await expect(xray(thief)).toContainText("Rejected: correctly signed, but not a session ID this shop makes.");
  await expect(cartLink(thief)).toHaveAccessibleName(cartLabel(0));
  expect(await sessionCookie(thiefContext), "the refused cookie was cleared").toBeUndefined();
  await lessonShot(thief, "lab-15-hash-refused");

  // And the shopper's cart is untouched.
  await shopper.goto("/cart");
  await expect(cartLink(shopper)).toHaveAccessibleName(cartLabel(2));
  await expect(shopper.getByLabel("Gift note for Ceramic Teapot")).toHaveValue(NOTE);
  await Promise.all([shopperContext.close(), teacherContext.close(), thiefContext.close()]);
});
