/**
 * Lab 10, performed in Chromium with a real second site: the shop at http://localhost:<port>, the
 * classroom's attacker page at http://127.0.0.1:<other port> (another host name, so another site),
 * and the same attacker page at http://localhost:<other port> (only the port differs: the same site).
 * The victim fills a cart, visits the prize page and presses its button; what the shop did is read
 * where the victim would see it (the cart, the lab page) and where the instructor would (the dashboard).
 *
 * One shop for the whole file, whose modes the instructor switches between cases: the tests run in order.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { freePort } from "../../src/test/processes.ts";
import { instructorSignIn, lessonShot, showXray, startShop, xray, type ShopProcess } from "../classroom.ts";
import { expectGoodPage, recordDocuments } from "../page-checks.ts";

// Several browsers and instructor sign-ins per test, on a machine shared with other suites: room to be slow.
test.describe.configure({ mode: "serial", timeout: 120_000 });

let shop: ShopProcess;
let shopUrl: string;
let crossSite: string;
let sameSite: string;

test.beforeAll(async () => {
  const attackerPort = await freePort();
  shop = await startShop({ CLASSROOM_VULNERABLE_LABS: "1", CLASSROOM_ATTACKER_PORT: String(attackerPort) });
  // The shop by name, the attacker by address: two sites on one machine.
  shopUrl = shop.url.replace("127.0.0.1", "localhost");
  crossSite = `http://127.0.0.1:${attackerPort}/`;
  sameSite = `http://localhost:${attackerPort}/`;
  for (
    let i = 0;
    i < 100 &&
    !(await fetch(crossSite).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
});
test.afterAll(async () => shop.stop());

type Setting = { checksOff: boolean; sameSite: "Lax" | "None" | "Strict" };

/** The instructor flips lab 10's switches on its page, as in class, until the page states the wanted setting. */
async function setModes(browser: Browser, want: Setting) {
  const context = await browser.newContext({ baseURL: shopUrl });
  const page = await context.newPage();
  await instructorSignIn(page, "/labs/10");
  const modes = [
    ["CSRF checks off", want.checksOff],
    ["SameSite=None", want.sameSite === "None"],
    ["SameSite=Strict", want.sameSite === "Strict"],
  ] as const;
  for (const [label, on] of modes) {
    const box = page.locator(".lab-mode", { hasText: `Vulnerable mode “${label}”` });
    if ((await box.textContent())!.includes(`“${label}”: ${on ? "ON" : "off"}.`)) continue;
    await box.getByRole("button").click();
    await expect(page.locator(".lab-mode", { hasText: `Vulnerable mode “${label}”: ${on ? "ON" : "off"}.` })).toBeVisible();
  }
  await expect(page.getByTestId("lab10-settings")).toContainText(
    `SameSite=${want.sameSite}${want.sameSite === "None" ? "; Secure" : ""}, and the CSRF checks are ${want.checksOff ? "OFF" : "on"}.`,
  );
  await context.close();
}

/** A fresh browser for the victim: one mug in the cart. Returns the page and the session's fingerprint. */
async function victim(browser: Browser, { xrayOn = false } = {}) {
  const context = await browser.newContext({ baseURL: shopUrl });
  const page = await context.newPage();
  await page.goto("/labs/10");
  if (xrayOn) await showXray(page);
  await page.getByRole("button", { name: "Start: 1 × Stoneware Mug in my cart" }).click();
  await expect(page.getByTestId("lab10-victim")).toContainText("In the cart: 1 × Stoneware Mug.");
  const fingerprint = await sessionOn(page);
  const cookie = (await context.cookies()).find((c) => c.name === "shop_sid")!;
  return { page, context, fingerprint: fingerprint!, cookie };
}

/**
 * What the session behind a cookie holds now, seen through that cookie in a fresh browser (the
 * dashboard cannot say: carts are sealed at rest, and only the cookie opens one).
 */
async function cartBehind(browser: Browser, cookie: Awaited<ReturnType<typeof victim>>["cookie"]): Promise<string> {
  const context = await browser.newContext({ baseURL: shopUrl });
  await context.addCookies([cookie]);
  const page = await context.newPage();
  await page.goto("/labs/10");
  const text = (await page.getByTestId("lab10-victim").textContent()) ?? "";
  await context.close();
  return text;
}

/** The session fingerprint the lab page shows, or null when the request brought no cookie. */
async function sessionOn(page: Page): Promise<string | null> {
  const text = (await page.getByTestId("lab10-victim").textContent()) ?? "";
  return /This browser's session: ([0-9a-f]{8})/.exec(text)?.[1] ?? null;
}

/** On the prize page (another site, or the same one): press a button, as the victim would. */
async function onPrizePage(page: Page, at: string, button: "Claim my free gift" | "Unsubscribe from these offers") {
  await page.goto(at);
  await expect(page.getByRole("heading", { level: 1, name: "Congratulations, you have won a free gift!" })).toBeVisible();
  await page.getByRole("button", { name: button }).click();
}

test("the attacker's page is a valid, accessible page on another site, with plain forms and no script", async ({ page }) => {
  recordDocuments(page);
  await page.goto(crossSite);
  await expect(page.getByText("another site than the shop: another host name")).toBeVisible();
  await expect(page.locator("script")).toHaveCount(0);
  await expect(page.locator(`form[action="${shopUrl}/cart/items"] input[type=hidden][name=productId]`)).toHaveCount(1);
  await expect(page.locator(`form[action="${shopUrl}/logout"]`)).toHaveCount(1);
  await expectGoodPage(page, "lab 10's attacker page");
  await lessonShot(page, "lab-10-prize-page");
  await page.goto(sameSite);
  await expect(page.getByText("the same site as the shop: only the port differs")).toBeVisible();
});

test("checks off, SameSite=Lax: the cross-site POST carries no cookie, so the knife lands in a new session, not the victim's", async ({ browser }) => {
  await setModes(browser, { checksOff: true, sameSite: "Lax" });
  const { page, context, fingerprint, cookie } = await victim(browser, { xrayOn: true });
  expect((await context.cookies()).find((c) => c.name === "shop_sid")?.sameSite).toBe("Lax");

  await onPrizePage(page, crossSite, "Claim my free gift");
  await expect(page).toHaveURL(`${shopUrl}/cart`);
  // The cart shown is the stranger's: the knife, and no mug.
  await expect(page.getByRole("main").getByText("Chef's Knife").first()).toBeVisible();
  await expect(page.getByRole("main").getByText("Stoneware Mug")).toHaveCount(0);
  await lessonShot(page, "lab-10-lax-new-session");
  await page.goto("/labs/10");
  const after = await sessionOn(page);
  expect(after, "the shop made a new session for the stranger, and its cookie replaced the victim's").not.toBe(fingerprint);
  await expect(page.getByTestId("lab10-victim")).toContainText("In the cart: 1 × Chef's Knife.");

  // The victim's own session was never reached: it is still on the dashboard, and its old cookie
  // still opens the mug, without the knife.
  const teacher = await (await browser.newContext({ baseURL: shopUrl })).newPage();
  await instructorSignIn(teacher);
  await expect(teacher.locator(`tr[data-fingerprint="${fingerprint}"]`)).toContainText("sealed");
  expect(await cartBehind(browser, cookie)).toContain("In the cart: 1 × Stoneware Mug.");
  await context.close();

  // The forged sign-out signs out nobody — yet its answer clears the cookie in the victim's browser.
  const second = await victim(browser);
  await onPrizePage(second.page, crossSite, "Unsubscribe from these offers");
  await expect(second.page.getByText("You have signed out.")).toBeVisible();
  await second.page.goto("/labs/10");
  await expect(second.page.getByTestId("lab10-victim")).toContainText("This request brought no session cookie");
  await teacher.goto("/instructor");
  await expect(teacher.locator(`tr[data-fingerprint="${second.fingerprint}"]`), "the session itself is alive on the server").toContainText("sealed");
  expect(await cartBehind(browser, second.cookie), "and its cart is as it was").toContain("In the cart: 1 × Stoneware Mug.");
  await teacher.context().close();
  await second.context.close();
});

test("checks off, SameSite=None; Secure: the attack adds the knife to the victim's own cart, and Unsubscribe signs the victim out", async ({ browser }) => {
  await setModes(browser, { checksOff: true, sameSite: "None" });
  const { page, context, fingerprint } = await victim(browser, { xrayOn: true });
  // Chromium keeps a Secure cookie set over http://localhost: it counts as a secure context.
  const cookie = (await context.cookies()).find((c) => c.name === "shop_sid");
  expect(cookie?.sameSite).toBe("None");
  expect(cookie?.secure).toBe(true);

  await onPrizePage(page, crossSite, "Claim my free gift");
  await expect(page).toHaveURL(`${shopUrl}/cart`);
  await expect(page.getByText("Added 1 × Chef's Knife to your cart.")).toBeVisible();
  await lessonShot(page, "lab-10-none-attack-works");
  await page.goto("/labs/10");
  expect(await sessionOn(page), "the same session: the victim's").toBe(fingerprint);
  await expect(page.getByTestId("lab10-victim")).toContainText("In the cart: 1 × Stoneware Mug, 1 × Chef's Knife.");
  await expect(page.getByTestId("lab10-victim")).toContainText("The attacker's Chef's Knife is in this cart.");

  await onPrizePage(page, crossSite, "Unsubscribe from these offers");
  await expect(page.getByText("You have signed out.")).toBeVisible();
  await page.goto("/labs/10");
  await expect(page.getByTestId("lab10-victim")).toContainText("This request brought no session cookie");
  await context.close();
});

test("checks on: the forged form is refused (403) whatever SameSite says, and the victim's cart is unchanged", async ({ browser }) => {
  for (const setting of ["None", "Lax"] as const) {
    await setModes(browser, { checksOff: false, sameSite: setting });
    const { page, context, fingerprint } = await victim(browser);
    let status = 0;
    page.on("response", (r) => {
      if (r.request().method() === "POST" && r.url() === `${shopUrl}/cart/items`) status = r.status();
    });
    await onPrizePage(page, crossSite, "Claim my free gift");
    await expect(page.getByRole("heading", { level: 1, name: "Request refused" })).toBeVisible();
    expect(status, `SameSite=${setting}`).toBe(403);
    if (setting === "None") await lessonShot(page, "lab-10-checks-on-refused");
    await page.goto("/labs/10");
    expect(await sessionOn(page)).toBe(fingerprint);
    await expect(page.getByTestId("lab10-victim")).toContainText("In the cart: 1 × Stoneware Mug.");
    await context.close();
  }
});

test("SameSite=Strict: the prize page's link into the shop shows an empty cart; typing the address shows the mug", async ({ browser }) => {
  await setModes(browser, { checksOff: false, sameSite: "Strict" });
  const { page, context } = await victim(browser);
  expect((await context.cookies()).find((c) => c.name === "shop_sid")?.sameSite).toBe("Strict");

  await page.goto(crossSite);
  await page.getByRole("link", { name: "See your cart at Stateful Shop" }).click();
  await expect(page).toHaveURL(`${shopUrl}/cart`);
  await expect(page.getByText("Your cart is empty.")).toBeVisible();
  await lessonShot(page, "lab-10-strict-empty-cart");

  await page.goto(`${shopUrl}/cart`); // typed into the address bar: no other site involved
  await expect(page.getByText("Your cart is empty.")).toHaveCount(0);
  await expect(page.getByText("Stoneware Mug")).not.toHaveCount(0);
  await context.close();
});

test("lab 10's page, as the instructor sees it with the attacker site on, is valid and accessible", async ({ browser }) => {
  const page = await (await browser.newContext({ baseURL: shopUrl })).newPage();
  recordDocuments(page);
  await instructorSignIn(page, "/labs/10");
  await page.goto("/labs/10");
  await expect(page.getByRole("link", { name: "open the prize page (another site)" })).toHaveAttribute("href", crossSite);
  await expectGoodPage(page, "lab 10 with the attacker site");
  await lessonShot(page, "lab-10-page");
  await page.context().close();
});

test("two ports of one host are one site: with the checks off, even a Lax cookie goes with the POST; with them on, it is refused", async ({ browser }) => {
  await setModes(browser, { checksOff: true, sameSite: "Lax" });
  const { page, context, fingerprint } = await victim(browser, { xrayOn: true });
  await onPrizePage(page, sameSite, "Claim my free gift");
  await expect(page.getByText("Added 1 × Chef's Knife to your cart.")).toBeVisible();
  // Same site: even the X-ray's own Lax cookie went with the POST, so it could record what the shop skipped.
  await expect(xray(page)).toContainText("CSRF checks skipped");
  await page.goto("/labs/10");
  expect(await sessionOn(page)).toBe(fingerprint);
  await expect(page.getByTestId("lab10-victim")).toContainText("In the cart: 1 × Stoneware Mug, 1 × Chef's Knife.");

  await setModes(browser, { checksOff: false, sameSite: "Lax" });
  await onPrizePage(page, sameSite, "Claim my free gift");
  await expect(page.getByRole("heading", { level: 1, name: "Request refused" })).toBeVisible();
  await context.close();
});
