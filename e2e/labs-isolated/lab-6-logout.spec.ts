/** Lab 6, performed: replay the cookie from before logout — dead when the session is destroyed, alive with "clear the cookie only", alive in cookie mode. */
import { expect, test, type Browser } from "@playwright/test";
import { addFromProductPage, register, replaySessionCookie, sessionCookie, signOut } from "../helpers.ts";
import { instructorSignIn, lessonShot, startShop, type ShopProcess } from "../classroom.ts";

let sqlite: ShopProcess;
let cookie: ShopProcess;
test.beforeAll(async () => {
  sqlite = await startShop({ CLASSROOM_VULNERABLE_LABS: "1" });
  cookie = await startShop({ SESSION_STORE: "cookie" });
});
test.afterAll(async () => {
  await sqlite.stop();
  await cookie.stop();
});

/** Sign up, fill the cart, copy the cookie, sign out, and replay the copy in a fresh browser. Is it still signed in? */
async function replayAfterLogout(browser: Browser, url: string, shot?: string): Promise<boolean> {
  const page = await (await browser.newContext({ baseURL: url })).newPage();
  const account = await register(page);
  await addFromProductPage(page, "camping-lantern", "Camping Lantern", 1);
  const copied = (await sessionCookie(page.context()))!.value;
  await signOut(page);
  expect(await sessionCookie(page.context()), "logout always clears the cookie in this browser").toBeUndefined();
  const thief = await browser.newContext({ baseURL: url });
  await replaySessionCookie(thief, copied, url);
  const other = await thief.newPage();
  await other.goto("/labs/6");
  const alive = await other.getByText(`Signed in as ${account.email}`).isVisible();
  if (shot) await lessonShot(other, shot);
  await page.context().close();
  await thief.close();
  return alive;
}

test("lab 6: a replayed pre-logout cookie is dead after a real logout, alive after a cookie-only logout and in cookie mode", async ({ browser }) => {
  expect(await replayAfterLogout(browser, sqlite.url, "lab-6-replay-dead"), "database mode: logout destroyed the session").toBe(false);

  const instructor = await (await browser.newContext({ baseURL: sqlite.url })).newPage();
  await instructorSignIn(instructor, "/labs/6");
  await instructor.getByRole("button", { name: "Switch the vulnerable mode on" }).click();
  await expect(instructor.getByText("Vulnerable mode “logout clears the cookie only”: ON.")).toBeVisible();
  expect(await replayAfterLogout(browser, sqlite.url, "lab-6-replay-alive"), "cookie-only logout: the record lives on").toBe(true);
  await instructor.getByRole("button", { name: "Switch the vulnerable mode off" }).click();
  expect(await replayAfterLogout(browser, sqlite.url), "fixed again").toBe(false);

  expect(await replayAfterLogout(browser, cookie.url), "cookie technique: nothing on the server to delete").toBe(true);
});
