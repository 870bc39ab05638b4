/** Lab 3, performed: an edited cookie fails its check and gives a fresh, empty session — never someone else's. */
import { expect, test } from "@playwright/test";
import { addFromProductPage, cartLabel, cartLink, SESSION_COOKIE, sessionCookie, technique } from "../helpers.ts";
import { lessonShot, showXray, xray } from "../classroom.ts";

test("lab 3: changing one character of the cookie gets a fresh empty session and says why", async ({ page, context, baseURL }) => {
  await page.goto("/labs/3");
  await showXray(page);
  await addFromProductPage(page, "stoneware-mug", "Stoneware Mug", 2);
  await expect(cartLink(page)).toHaveAccessibleName(cartLabel(2));

  // What the lab asks students to do in DevTools: change one character in the middle of the value.
  const value = (await sessionCookie(context))!.value;
  const i = Math.floor(value.length / 2);
  const tampered = value.slice(0, i) + (value[i] === "A" ? "B" : "A") + value.slice(i + 1);
  await context.addCookies([{ name: SESSION_COOKIE, value: tampered, url: baseURL! }]);
  await page.goto("/labs/3");
  await expect(xray(page)).toContainText(
    technique() === "cookie" ? "Rejected: the sealed cookie failed authentication (AES-GCM tag)" : "Rejected: bad signature",
  );
  await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));
  expect(await sessionCookie(context), "the server tells the browser to drop the bad cookie").toBeUndefined();
  await lessonShot(page, "lab-3-rejected");
});
