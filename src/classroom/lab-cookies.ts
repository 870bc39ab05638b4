/**
 * Lab 11: a cookie whose attributes the class chooses. The Set-Cookie line is written by hand
 * (not res.cookie, which would refuse some of the broken ones), and the lab page then shows, side
 * by side, what was sent, what the browser sent back in its next request's Cookie header, and
 * what scripts see in document.cookie — so a cookie the browser refused is simply not there.
 *
 * Every choice is from a fixed list (parseChoices), so nothing the visitor typed reaches a header.
 */

export interface CookieChoices {
  httpOnly: boolean;
  secure: boolean;
  sameSite: "" | "Lax" | "Strict" | "None";
  path: "/" | "/labs" | "/nowhere";
  /** "" = host-only (no Domain); "host" = Domain=<this host>; "example.com" = someone else's domain. */
  domain: "" | "host" | "example.com";
  /** "" = a session cookie (gone when the browser closes); "600" = ten minutes; "0" = delete now. */
  maxAge: "" | "600" | "0";
  hostPrefix: boolean;
  /** A fresh value each time, so the class sees which Set-Cookie the browser kept. */
  value: string;
}

const pick = <T extends string>(v: unknown, allowed: readonly T[], fallback: T): T =>
  typeof v === "string" && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;

/** From a form or a query string: anything unexpected falls back to the default. */
export function parseChoices(input: Record<string, unknown>): CookieChoices {
  const value = typeof input.value === "string" && /^[a-z0-9]{1,12}$/.test(input.value) ? input.value : "v1";
  return {
    httpOnly: input.httpOnly === "1",
    secure: input.secure === "1",
    sameSite: pick(input.sameSite, ["", "Lax", "Strict", "None"] as const, ""),
    path: pick(input.path, ["/", "/labs", "/nowhere"] as const, "/"),
    domain: pick(input.domain, ["", "host", "example.com"] as const, ""),
    maxAge: pick(input.maxAge, ["", "600", "0"] as const, ""),
    hostPrefix: input.hostPrefix === "1",
    value,
  };
}

/** The same choices as a query string, for the page after the redirect. */
export function choicesQuery(c: CookieChoices): string {
  const q = new URLSearchParams({ value: c.value, path: c.path, domain: c.domain, maxAge: c.maxAge, sameSite: c.sameSite });
  for (const flag of ["httpOnly", "secure", "hostPrefix"] as const) if (c[flag]) q.set(flag, "1");
  return q.toString();
}

export const cookieNameOf = (c: Pick<CookieChoices, "hostPrefix">) => (c.hostPrefix ? "__Host-lab_cookie" : "lab_cookie");

export function setCookieLine(c: CookieChoices, host: string): string {
  const parts = [`${cookieNameOf(c)}=${c.value}`];
  if (c.path) parts.push(`Path=${c.path}`);
  if (c.domain) parts.push(`Domain=${c.domain === "host" ? host : c.domain}`);
  if (c.maxAge) parts.push(`Max-Age=${c.maxAge}`);
  if (c.sameSite) parts.push(`SameSite=${c.sameSite}`);
  if (c.secure) parts.push("Secure");
  if (c.httpOnly) parts.push("HttpOnly");
  return parts.join("; ");
}

/**
 * Before a new lab cookie: delete every earlier variant (each name, path and domain is a cookie
 * of its own), so the page shows one cookie, not a pile. Not shown in the lab's table.
 */
export function clearingLines(host: string): string[] {
  const lines: string[] = [];
  for (const path of ["/", "/labs", "/nowhere"]) {
    lines.push(`lab_cookie=; Path=${path}; Max-Age=0`, `lab_cookie=; Path=${path}; Domain=${host}; Max-Age=0`);
  }
  lines.push("__Host-lab_cookie=; Path=/; Max-Age=0; Secure");
  return lines;
}

/**
 * What a browser following RFC 6265bis does with it, seen from /labs/11 on this host. `secureContext`:
 * HTTPS, or http://localhost / 127.0.0.1, which browsers treat as potentially trustworthy.
 */
export function predict(
  c: CookieChoices,
  { secureContext, host }: { secureContext: boolean; host: string },
): { stored: boolean; sentHere: boolean; visibleToScripts: boolean; why: string } {
  const refused = (why: string) => ({ stored: false, sentHere: false, visibleToScripts: false, why });
  // Measured in Chromium: a Domain equal to the page's own IP address is dropped (an IP has no
  // subdomains, so the cookie is host-only anyway), and then __Host- does not object to it.
  const ipHost = /^(\d{1,3}\.){3}\d{1,3}$|^\[/.test(host);
  const domainCounts = c.domain === "example.com" || (c.domain === "host" && !ipHost);
  if (c.hostPrefix && (domainCounts || !c.secure || c.path !== "/")) return refused("Rejected: a __Host- cookie must be Secure, have Path=/ and no Domain.");
  if (c.secure && !secureContext)
    return refused("Rejected: a Secure cookie cannot be set over plain http (only localhost and 127.0.0.1 count as secure without TLS).");
  if (c.sameSite === "None" && !c.secure) return refused("Rejected: SameSite=None must come with Secure.");
  if (c.domain === "example.com") return refused("Rejected: a site can only set cookies for its own domain, not example.com.");
  if (c.maxAge === "0") return refused("Deleted: Max-Age=0 tells the browser to drop it at once.");
  const sentHere = c.path !== "/nowhere";
  return {
    stored: true,
    sentHere,
    visibleToScripts: !c.httpOnly && sentHere,
    why: sentHere
      ? `${c.hostPrefix && c.domain === "host" ? `Chromium drops a Domain equal to the IP address ${host} (the cookie is host-only anyway), so even __Host- accepts it; served as localhost the same cookie is rejected. ` : ""}Stored${c.maxAge ? " for 10 minutes" : " until the browser closes (no Max-Age or Expires: a session cookie)"}; sent back with every request to ${c.path === "/" ? "this host" : "paths under /labs"}${c.httpOnly ? "; hidden from scripts (HttpOnly)" : ""}.`
      : "Stored, but not sent to /labs/11: Path=/nowhere does not match this page's path (and document.cookie only shows cookies for this path).",
  };
}
