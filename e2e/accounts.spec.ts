/**
 * What belongs to the session and what belongs to the account, as a shopper meets it, on every
 * technique: a signed-in cart is kept with the account when the session ends and comes back at
 * the next sign-in (merged with a guest cart, with every clamp said), a session that ended says
 * so once, and changing the password ends the account's other sessions (where the technique can).
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { instructorSignIn } from "./classroom.ts";
import {
  addFromProductPage,
  cartLabel,
  cartLink,
  createAccount,
  flash,
  idHashOf,
  PASSWORD,
  sessionCookie,
  signIn,
  signOut,
  technique,
  uniqueEmail,
} from "./helpers.ts";

const sessionNotice = (page: Page) => page.locator(".session-ended");
const freshPage = async (browser: Browser) => (await browser.newContext()).newPage();

test.describe("an account keeps its cart", () => {
  test("signing out with a full cart, then signing in from a fresh browser, brings the cart back", async ({ page, browser, request }) => {
    const account = await createAccount(request);
    await signIn(page, account);
    await addFromProductPage(page, "ceramic-teapot", "Ceramic Teapot", 2);
    await addFromProductPage(page, "linen-apron", "Linen Apron", 1);
    await signOut(page);
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(0));

    const elsewhere = await freshPage(browser);
    await elsewhere.goto("/login");
    await elsewhere.getByLabel("Email", { exact: true }).fill(account.email);
    await elsewhere.getByLabel("Password", { exact: true }).fill(account.password);
    await elsewhere.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(flash(elsewhere)).toContainText(`Welcome back, ${account.email}. Your saved cart is back (3 items).`);
    await expect(cartLink(elsewhere)).toHaveAccessibleName(cartLabel(3));
    await cartLink(elsewhere).click();
    await expect(elsewhere.getByLabel("Quantity of Ceramic Teapot")).toHaveValue("2");
    await expect(elsewhere.getByLabel("Quantity of Linen Apron")).toHaveValue("1");

    // Claimed once: signing out and in again elsewhere does not double it.
    await signOut(elsewhere);
    const third = await freshPage(browser);
    await signIn(third, account);
    await expect(cartLink(third)).toHaveAccessibleName(cartLabel(3));
  });

  test("a guest cart and the saved cart are merged: sums, the 10-per-product limit and the stock, each said in one message", async ({
    page,
    browser,
    request,
  }) => {
    const account = await createAccount(request);
    // The saved cart: 1 mug, 6 knives, 2 grinders (3 in stock).
    const before = await freshPage(browser);
    await signIn(before, account);
    await addFromProductPage(before, "stoneware-mug", "Stoneware Mug", 1);
    await addFromProductPage(before, "chefs-knife", "Chef's Knife", 6);
    await addFromProductPage(before, "hand-coffee-grinder", "Hand Coffee Grinder", 2);
    await signOut(before);

    // A guest fills a cart, then signs in.
    await addFromProductPage(page, "stoneware-mug", "Stoneware Mug", 2);
    await addFromProductPage(page, "chefs-knife", "Chef's Knife", 7);
    await addFromProductPage(page, "hand-coffee-grinder", "Hand Coffee Grinder", 2);
    await page.goto("/login");
    await page.getByLabel("Email", { exact: true }).fill(account.email);
    await page.getByLabel("Password", { exact: true }).fill(account.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const message = flash(page);
    await expect(message).toContainText("Your saved cart is back (9 items).");
    await expect(message.getByRole("listitem")).toHaveText([
      "Stoneware Mug: 2 + 1 → 3",
      "Chef's Knife reduced to 10: at most 10 per product.",
      "Hand Coffee Grinder reduced to 3: only 3 left.",
    ]);
    await cartLink(page).click();
    await expect(page.getByLabel("Quantity of Stoneware Mug")).toHaveValue("3");
    await expect(page.getByLabel("Quantity of Chef's Knife")).toHaveValue("10");
    await expect(page.getByLabel("Quantity of Hand Coffee Grinder")).toHaveValue("3");
  });
});

test.describe("a session that ends says so", () => {
  test("revoked from the instructor's dashboard: the shopper is told once, and the cart is waiting at the next sign-in", async ({
    page,
    context,
    browser,
    request,
  }) => {
    const account = await createAccount(request);
    await signIn(page, account);
    await addFromProductPage(page, "wool-beanie", "Wool Beanie", 1);
    const dashboard = await freshPage(browser);
    await instructorSignIn(dashboard);
    if (technique() === "cookie") {
      // Nothing on the server to revoke: the dashboard has no table, the session lives on (asserted, not skipped).
      await expect(dashboard.getByText("Nothing can be listed, expired or revoked from here.")).toBeVisible();
      await page.reload();
      await expect(page.getByText(`Signed in as ${account.email}`)).toBeVisible();
      return;
    }
    const fingerprint = idHashOf((await sessionCookie(context))!.value).slice(0, 8);
    await dashboard.getByRole("button", { name: `Revoke session ${fingerprint}` }).click();
    await expect(dashboard.getByRole("status")).toContainText(`Session ${fingerprint} revoked`);

    await page.goto("/");
    await expect(sessionNotice(page)).toHaveText("Your session was ended by the instructor. Your cart was saved to your account — sign in to get it back.");
    await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sign in" })).toBeVisible();
    await page.reload();
    await expect(sessionNotice(page), "the notice is shown once").toHaveCount(0);
    await signIn(page, account);
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));
  });
});

test.describe("changing the password", () => {
  test("on device A ends the other sessions; device B is told why, and this browser keeps its cart under a new ID", async ({
    page,
    context,
    browser,
    request,
  }) => {
    const account = await createAccount(request);
    const deviceB = await freshPage(browser);
    await signIn(deviceB, account);
    await addFromProductPage(deviceB, "picnic-basket", "Wicker Picnic Basket", 1);
    await signIn(page, account);
    await addFromProductPage(page, "camping-lantern", "Camping Lantern", 1);
    const before = (await sessionCookie(context))!.value;

    await page.goto("/account");
    // A wrong current password changes nothing.
    await page.getByLabel("Current password").fill("not my password at all");
    await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase 42");
    await page.getByLabel("New password, again").fill("a brand new passphrase 42");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByText("That is not your current password, so nothing was changed.")).toBeVisible();
    await deviceB.reload();
    await expect(deviceB.getByText(`Signed in as ${account.email}`)).toBeVisible();

    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase 42");
    await page.getByLabel("New password, again").fill("a brand new passphrase 42");
    await page.getByRole("button", { name: "Change password" }).click();
    const after = (await sessionCookie(context))!.value;
    expect(after, "this browser got a new session ID").not.toBe(before);
    await expect(cartLink(page)).toHaveAccessibleName(cartLabel(1));

    if (technique() === "cookie") {
      await expect(flash(page)).toContainText("Your password was changed, and this browser has a new session ID.");
      await expect(flash(page)).toContainText("cannot sign them out");
      await deviceB.reload();
      await expect(deviceB.getByText(`Signed in as ${account.email}`), "the cookie technique cannot end device B's session").toBeVisible();
      return;
    }
    // Device B, and the session the account was registered with (the test's API client).
    await expect(flash(page)).toHaveText("Your password was changed. 2 other sessions were signed out, and this browser has a new session ID.");
    await deviceB.reload();
    await expect(sessionNotice(deviceB)).toHaveText(
      "You were signed out because your password was changed. Your cart was saved to your account — sign in to get it back.",
    );
    // The old password no longer works; the new one does, and brings B's cart back.
    await signIn(deviceB, { email: account.email, password: "a brand new passphrase 42" });
    await expect(cartLink(deviceB)).toHaveAccessibleName(cartLabel(1));
  });

  test("bad input on the password form never fails the page and changes nothing", async ({ page, request }) => {
    const account = await createAccount(request, { email: uniqueEmail("pw"), password: PASSWORD });
    await signIn(page, account);
    await page.goto("/account");
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password", { exact: true }).fill("short");
    await page.getByLabel("New password, again").fill("short");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByText(/at least 10 characters/i).first()).toBeVisible();
    await signOut(page);
    await signIn(page, account); // the old password still works
  });
});

test("sign out everywhere ends every session of the account, this one too", async ({ page, browser, request }) => {
  const account = await createAccount(request);
  const other = await freshPage(browser);
  await signIn(other, account);
  await signIn(page, account);
  await page.goto("/account/sessions");
  if (technique() === "cookie") {
    await expect(page.getByText("the server keeps no list of sessions")).toBeVisible();
    return;
  }
  await page.getByLabel("Your password, to confirm it's you").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  // The other browser, and the session the account was registered with (the test's API client).
  await expect(flash(page)).toHaveText("Signed out everywhere: this browser and 2 other sessions.");
  await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sign in" })).toBeVisible();
  await other.reload();
  await expect(sessionNotice(other)).toHaveText("You were signed out from another device. Sign in again to continue.");
});
