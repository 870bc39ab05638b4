/**
 * Security headers (helmet) and the caching rules for pages that show session data.
 */
import type { RequestHandler } from "express";
import helmet from "helmet";

export function securityHeaders(options: { https: boolean }): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "script-src": ["'self'"], // no inline script at all: an injected <script> would not run
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "form-action": ["'self'"], // forms can only post back to the shop
        "frame-ancestors": ["'none'"], // no framing: defeats clickjacking on "Place order"
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        ...(options.https ? { "upgrade-insecure-requests": [] } : {}),
      },
    },
    // HSTS only makes sense when the shop is actually served over HTTPS. A year (OWASP's HSTS cheat
    // sheet; helmet's default is 180 days): long enough that a returning visitor is never downgraded.
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: "same-origin" },
  });
}

/**
 * Every page shows the cart badge, so every dynamic response is private to one session:
 * no shared cache may keep it, and the back button after logout must not show it again.
 */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  res.vary("Cookie");
  next();
};
