/**
 * What every page must pass, checked the way a user meets it: valid HTML (html-validate over the
 * document the server sent, not the DOM Chromium repaired), no serious or critical axe violation
 * at a desktop width (1280 px) and a phone width (390 px), and at 390 px no horizontal overflow of
 * the page (a table spilling out of the dark inspector panel onto the light page was unreadable).
 */
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, type Response } from "@playwright/test";
import { HtmlValidate } from "html-validate";

// The recommended rules minus two about source style (upper-case DOCTYPE, trailing spaces left by EJS tags).
const validator = new HtmlValidate({
  extends: ["html-validate:recommended"],
  rules: { "doctype-style": "off", "no-trailing-whitespace": "off" },
});

const documents = new WeakMap<Page, Promise<string>>();

/** Keep the body of the page's latest document (call once per page, before navigating). */
export function recordDocuments(page: Page): void {
  page.on("response", (response: Response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame() && response.status() < 300) {
      // Read now: the body is gone once the page navigates on.
      const body = response.text().catch(() => "");
      body.catch(() => {});
      documents.set(page, body);
    }
  });
}

export async function expectValidHtml(page: Page, what: string, { soft = false } = {}): Promise<void> {
  const html = await documents.get(page);
  expect(html, `${what}: no document recorded (recordDocuments(page) first)`).toBeTruthy();
  const report = await validator.validateString(html!);
  const problems = report.results.flatMap((r) => r.messages).map((m) => `  line ${m.line}:${m.column} ${m.ruleId}: ${m.message}`);
  (soft ? expect.soft : expect)(problems.join("\n"), `${what} (${page.url()}) is not valid HTML`).toBe("");
}

export async function expectNoSeriousViolations(page: Page, what: string, { soft = false } = {}): Promise<void> {
  // Legacy mode runs axe in the page itself; the default opens an extra blank page per analysis
  // to combine per-frame results, which doubles the cost and buys nothing here (no iframes).
  const results = await new AxeBuilder({ page }).setLegacyMode(true).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = serious
    .map(
      (v) =>
        `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\n/g, " ")}`).join("\n")}`,
    )
    .join("\n");
  (soft ? expect.soft : expect)(report, `${what} (${page.url()}) has serious/critical axe violations`).toBe("");
}

/** At the current width: the page scrolls only vertically. Names the elements that stick out. */
export async function expectNoHorizontalOverflow(page: Page, what: string, { soft = false } = {}): Promise<void> {
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= width + 1)
      .slice(0, 8)
      .map(
        (el) =>
          `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(" ").join(".")}` : ""} → ${Math.round(el.getBoundingClientRect().right)} px`,
      );
  });
  (soft ? expect.soft : expect)(overflow.join("\n"), `${what} (${page.url()}) is wider than a ${page.viewportSize()?.width} px screen`).toBe("");
}

/** All of it, soft: one bad page still lets the others be checked. Leaves the page at 1280 px. */
export async function expectGoodPage(page: Page, what: string): Promise<void> {
  await expectValidHtml(page, what, { soft: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await expectNoSeriousViolations(page, `${what} at 1280 px`, { soft: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoHorizontalOverflow(page, `${what} at 390 px`, { soft: true });
  await expectNoSeriousViolations(page, `${what} at 390 px`, { soft: true });
  await page.setViewportSize({ width: 1280, height: 720 });
}
