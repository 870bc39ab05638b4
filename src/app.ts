/**
 * createApp: the middleware order and the routers, nothing else. It never listens, and it is
 * built by createShop (shop.ts), which wires what it needs.
 */
import path from "node:path";
import cookieParser from "cookie-parser";
import express from "express";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { sessionNotices } from "./accounts/notices.ts";
import { formatCents } from "./cart/money.ts";
import { MAX_NOTE_LENGTH, MAX_PER_LINE } from "./cart/cart.ts";
import { compress } from "./middleware/compress.ts";
import { lazyCookies } from "./middleware/cookies.ts";
import type { createCsrf } from "./middleware/csrf.ts";
import { errorHandler, notFoundHandler } from "./middleware/errors.ts";
import { locals } from "./middleware/locals.ts";
import { requestLog } from "./middleware/request-log.ts";
import { noStore, securityHeaders } from "./middleware/security.ts";
import { loadSession } from "./session/middleware.ts";
import type { Classroom } from "./classroom/classroom.ts";
import type { createClassroomLayer } from "./classroom/classroom-routes.ts";
import type { RouteDeps } from "./routes/deps.ts";
import { catalogRoutes } from "./routes/catalog-routes.ts";
import { cartRoutes } from "./routes/cart-routes.ts";
import { authRoutes } from "./routes/auth-routes.ts";
import { checkoutRoutes } from "./routes/checkout-routes.ts";
import { accountRoutes } from "./routes/account-routes.ts";

/** Everything is built by createShop (shop.ts); this file only puts it in order. */
export interface AppDeps {
  config: Config;
  /** The services the routers share (routes/deps.ts). */
  services: RouteDeps;
  csrf: ReturnType<typeof createCsrf>;
  /** Demo clock, lab modes, history for the instructor's chart. */
  classroom: Classroom;
  /** The X-ray, the labs and the instructor's pages (src/classroom/). */
  classroomLayer: ReturnType<typeof createClassroomLayer>;
  log: Logger;
  /** The project folder (views/, public/). */
  root: string;
  /** false: cookie-parser itself, eagerly on every request (the benchmark's A/B of middleware/cookies.ts). */
  lazyCookies?: boolean;
}

export function createApp({ config, services, csrf, classroom, classroomLayer, log, root, lazyCookies: lazy = true }: AppDeps) {
  const { catalog, sessions, flash, users, savedCarts, clock } = services;
  const app = express();
  app.set("trust proxy", config.trustProxy);
  app.set("view engine", "ejs");
  app.set("views", path.join(root, "views"));
  app.set("view cache", true);
  app.disable("x-powered-by");
  // req.cookies and req.signedCookies (flash, pre-session, X-ray) are parsed when read, each signed
  // one verified when read: the session reads and verifies its own cookie, once (session/cookie.ts).
  if (lazy) lazyCookies(app.request, config.sessionSecrets);
  else app.use(cookieParser([...config.sessionSecrets]));
  Object.assign(app.locals, {
    formatCents,
    // The browser's max and maxlength say what the server enforces (cart.ts), from the same constants.
    cartLimits: { maxPerLine: MAX_PER_LINE, maxNoteLength: MAX_NOTE_LENGTH },
    categories: catalog.categories,
    user: null,
    cartCount: 0,
    flash: null,
    sessionNotice: null,
    csrfToken: "",
    q: "",
    // Pages with their own <meta name="description"> set this; the rest share the head's default.
    description: "",
    path: "/",
    here: "/",
    // Pages rendered before the classroom middleware ran (early errors) show no classroom parts.
    classroom: { enabled: false, technique: sessions.technique, vulnerable: [], offsetMs: 0, xrayOn: false },
    xray: null,
  });

  app.use(requestLog(log));
  // Which process answered: with several instances behind a balancer, the class sees requests hop.
  app.use((_req, res, next) => {
    res.setHeader("X-Served-By", config.instanceName);
    next();
  });
  app.use(securityHeaders({ https: config.cookieSecure }));
  // gzip or brotli for HTML, CSS and SVG from 12 KB (the home page: 27 KB → 3 KB); smaller pages fit
  // in TCP's first flight anyway, and each compression leaves native memory behind (issue 29).
  app.use(compress());
  // Static files first: images and CSS never load a session. Only a path with an extension can name
  // one of public/'s files; asking serve-static about every page cost a file-system stat per request
  // (≈ 9 % of a cart page's CPU in the profile).
  const assets = express.static(path.join(root, "public"), { maxAge: config.production ? "1d" : 0 });
  app.use((req, res, next) => (path.extname(req.path) ? assets(req, res, next) : next()));
  app.use(noStore);
  // The dashboard reports a store outage itself ("Store unavailable"): it must not get the 503 page instead.
  app.use(loadSession(sessions, { outageTolerant: (req) => req.method === "GET" && (req.path === "/instructor" || req.path === "/instructor/events") }));
  app.use(
    sessionNotices({
      savedCarts,
      clock,
      technique: sessions.technique,
      idleTimeoutMs: config.idleTimeoutMs,
      absoluteTimeoutMs: config.absoluteTimeoutMs,
      onError: (err) => log.warn({ err }, "session notice skipped"),
    }),
  );
  app.use(classroomLayer.remember);
  app.use(flash.read);
  app.use(locals(users));
  app.use(classroomLayer.locals);
  // Small forms only; extended: false keeps bodies flat (no nested objects from "a[b]=c").
  app.use(express.urlencoded({ extended: false, limit: "8kb", parameterLimit: 20 }));
  // (Lab 10 can switch the checks off, only on a classroom shop started with CLASSROOM_VULNERABLE_LABS=1.)
  app.use(classroom.csrfProtection(csrf));

  app.use(catalogRoutes(services));
  app.use(cartRoutes(services));
  app.use(authRoutes(services));
  app.use(checkoutRoutes(services));
  app.use(accountRoutes(services, config));
  app.use(classroomLayer.router);

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
