/**
 * Lab 11, performed in Chromium: each attribute set through the lab's form, and what the browser
 * really did — the next request's Cookie header and document.cookie — compared with what the rules
 * say. Then the same Secure cookie from a host that is not localhost (a name Chromium resolves to
 * 127.0.0.1, so plain http is not a secure context there): rejected.
 */
import fs from "node:fs";
import { chromium, expect, test, type Page } from "@playwright/test";
import { lessonShot, startShop, type ShopProcess } from "../classroom.ts";

let shop: ShopProcess;
test.beforeAll(async () => {
  shop = await startShop();
});
test.afterAll(async () => shop.stop());

interface Case {
  name: string;
  flags?: ("HttpOnly" | "Secure" | "__Host- prefix")[];
  sameSite?: string;
  path?: string;
  domain?: string;
  maxAge?: string;
  /** What the browser sends back and what scripts see: a regexp on the lab cookie, or null for none. */
  sent: boolean;
  script: boolean;
  why: string;
  shot?: string;
}

async function setLabCookie(page: Page, c: Case) {
  await page.goto("/labs/11");
  for (const flag of ["HttpOnly", "Secure", "__Host- prefix"] as const)
    await page.getByLabel(flag, { exact: true }).setChecked(c.flags?.includes(flag) ?? false);
  await page.getByLabel("SameSite").selectOption({ label: c.sameSite ?? "(not given: Lax by default)" });
  await page.getByLabel("Path").selectOption({ label: c.path ?? "/" });
  await page.getByLabel("Domain").selectOption({ label: c.domain ?? "(none: this host only)" });
  await page.getByLabel("Max-Age").selectOption({ label: c.maxAge ?? "(none: a session cookie)" });
  await page.getByRole("button", { name: "Set the lab cookie" }).click();
  await expect(page).toHaveURL(/\/labs\/11\?value=/);
  return new URL(page.url()).searchParams.get("value")!;
}

const cases: Case[] = [
  { name: "plain", sent: true, script: true, why: "until the browser closes" },
  { name: "HttpOnly", flags: ["HttpOnly"], sent: true, script: false, why: "hidden from scripts (HttpOnly)", shot: "lab-11-httponly" },
  { name: "Path=/nowhere", path: "/nowhere", sent: false, script: false, why: "not sent to /labs/11" },
  { name: "Path=/labs", path: "/labs", maxAge: "600 (ten minutes)", sent: true, script: true, why: "for 10 minutes" },
  { name: "Domain=example.com", domain: "example.com", sent: false, script: false, why: "only set cookies for its own domain" },
  {
    name: "__Host- with a Domain",
    flags: ["__Host- prefix", "Secure"],
    domain: "localhost",
    sent: false,
    script: false,
    why: "__Host- cookie must be Secure",
    shot: "lab-11-host-prefix-rejected",
  },
  { name: "__Host- done right", flags: ["__Host- prefix", "Secure", "HttpOnly"], sameSite: "Strict", sent: true, script: false, why: "hidden from scripts" },
  { name: "SameSite=None without Secure", sameSite: "None", sent: false, script: false, why: "SameSite=None must come with Secure" },
  { name: "Secure on http://localhost", flags: ["Secure"], sameSite: "None", sent: true, script: true, why: "until the browser closes" },
  { name: "Max-Age=0", maxAge: "0 (delete it)", sent: false, script: false, why: "Deleted" },
];

test("lab 11: every cookie attribute, set for real, and what Chromium stored, sent back and showed to scripts", async ({ browser }) => {
  // As localhost, not 127.0.0.1: both are secure contexts over http, but a Domain equal to an IP
  // address is dropped by Chromium, which would let "__Host- with a Domain" through (tested below).
  const page = await browser.newPage({ baseURL: shop.url.replace("127.0.0.1", "localhost") });
  for (const c of cases) {
    await test.step(c.name, async () => {
      const value = await setLabCookie(page, c);
      const name = c.flags?.includes("__Host- prefix") ? "__Host-lab_cookie" : "lab_cookie";
      await expect(page.getByTestId("predicted")).toContainText(c.why);
      await expect(page.getByTestId("received"), "the next request's Cookie header").toHaveText(c.sent ? `${name}=${value}` : /no lab cookie/);
      await expect(page.getByTestId("script-sees"), "document.cookie").toHaveText(c.script ? `${name}=${value}` : "(no lab cookie visible to scripts)");
      // The Path=/nowhere cookie is stored all the same: the browser's jar has it, for another path.
      if (c.path === "/nowhere") expect((await page.context().cookies()).find((k) => k.name === name)?.path).toBe("/nowhere");
      if (c.shot) await lessonShot(page, c.shot);
    });
  }

  await test.step("Set-Cookie: lab_a=1; lab_b=2 sets lab_a only", async () => {
    await page.getByRole("button", { name: "Send Set-Cookie: lab_a=1; lab_b=2" }).click();
    await expect(page.getByTestId("sent")).toHaveText("lab_a=1; lab_b=2");
    await expect(page.getByTestId("received")).toHaveText(/^lab_a=1$|^lab_a=1; lab_cookie=|lab_cookie=[^;]+; lab_a=1$/);
    await expect(page.getByTestId("received")).not.toContainText("lab_b");
    expect((await page.context().cookies()).find((k) => k.name === "lab_a")?.value).toBe("1");
    expect((await page.context().cookies()).some((k) => k.name === "lab_b")).toBe(false);
    await lessonShot(page, "lab-11-one-line-one-cookie");
  });
});

test("lab 11: on 127.0.0.1, Chromium drops a Domain equal to the IP address, so __Host- lets it through", async ({ page }) => {
  await page.goto(`${shop.url}/labs/11`);
  const value = await setLabCookie(page, {
    name: "__Host- Domain=IP",
    flags: ["__Host- prefix", "Secure"],
    domain: "127.0.0.1",
    sent: true,
    script: true,
    why: "",
  });
  await expect(page.getByTestId("predicted")).toContainText("Chromium drops a Domain equal to the IP address 127.0.0.1");
  await expect(page.getByTestId("received")).toHaveText(`__Host-lab_cookie=${value}`);
});

test("lab 11: a Secure cookie over plain http from a host that is not localhost is rejected", async () => {
  // Chromium maps the name to the shop's address; for Chromium it is just another http:// host, not a secure context.
  const port = new URL(shop.url).port;
  const executablePath = fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
  const browser = await chromium.launch({ executablePath, args: ["--host-resolver-rules=MAP shop.classroom.test 127.0.0.1"] });
  try {
    const page = await browser.newPage({ baseURL: `http://shop.classroom.test:${port}` });
    await page.goto("/labs/11");
    await expect(page.getByText("does NOT treat as a secure context")).toBeVisible();
    expect(await page.evaluate(() => window.isSecureContext), "Chromium agrees: not a secure context").toBe(false);
    const value = await setLabCookie(page, { name: "Secure", flags: ["Secure"], sent: false, script: false, why: "" });
    await expect(page.getByTestId("predicted")).toContainText("a Secure cookie cannot be set over plain http");
    await expect(page.getByTestId("received")).toHaveText(/no lab cookie/);
    expect(value).toMatch(/^v/);
    await lessonShot(page, "lab-11-secure-over-http-rejected");
    // The same cookie without Secure is fine there: it is the flag, not the host, that is refused.
    const plain = await setLabCookie(page, { name: "plain", sent: true, script: true, why: "" });
    await expect(page.getByTestId("received")).toHaveText(`lab_cookie=${plain}`);
  } finally {
    await browser.close();
  }
});
