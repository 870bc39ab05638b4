/** Lab 1, performed: no cookie on the first visit, the first add creates it, then it travels with every request. */
import { expect, test } from "@playwright/test";
import { addFromProductPage, sessionCookie, technique } from "../helpers.ts";
import { lessonShot, showXray, xray } from "../classroom.ts";

test("lab 1: the first visit has no session, the first add sets the cookie, later requests carry it back", async ({ page, context }) => {
  await page.goto("/labs/1");
  await expect(page.getByRole("heading", { level: 1, name: "Lab 1: The cookie exchange" })).toBeVisible();
  await showXray(page);
  await expect(xray(page)).toContainText("No cookie → no session yet");
  await expect(xray(page)).toContainText("No session: nothing is stored for this browser.");
  expect(await sessionCookie(context), "looking around stores nothing").toBeUndefined();
  await lessonShot(page, `lab-1-no-cookie`);

  await addFromProductPage(page, "ceramic-teapot", "Ceramic Teapot", 1);
  const previous = xray(page).getByRole("region", { name: /The request before: POST \/cart\/items/ });
  await expect(previous).toContainText(
    technique() === "cookie" ? "Created: the first thing to keep, sealed" : "Created: the first thing to keep → a new random ID",
  );
  await expect(previous).toContainText(technique() === "cookie" ? "Set-Cookie: shop_sid=‹sealed blob" : "Set-Cookie: shop_sid=s%3A‹ID ");
  await expect(previous).toContainText("HttpOnly");
  await expect(previous).toContainText("SameSite=Lax");
  await lessonShot(page, `lab-1-first-set-cookie`);

  await page.goto("/cart");
  await expect(xray(page)).toContainText(technique() === "cookie" ? "Loaded: the cookie was opened and checked" : "Loaded: the ID's hash found a live record.");
  await expect(xray(page)).toContainText("Cookie: ");
  await expect(xray(page)).toContainText("(none: nothing changed, so nothing to send)");
  // The raw ID never appears in the page, only its fingerprint.
  const value = decodeURIComponent((await sessionCookie(context))!.value);
  const secret = technique() === "cookie" ? value : value.slice(2, value.lastIndexOf("."));
  expect(await page.content()).not.toContain(secret);
});
