/**
 * Where a form or a link may send the browser next (?next=, returnTo): only a path on this site.
 * "//evil.example", "/\evil.example" and "https://…" would make the shop an open redirect, a
 * trusted link that lands on a phishing page.
 */
export function safeLocalPath(value: unknown, fallback = "/"): string {
  return typeof value === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 200 ? value : fallback;
}
