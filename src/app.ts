/**
 * createApp: the middleware order and the routers, nothing else. It never listens, and it is
 * built by createShop (shop.ts), which wires what it needs.
 */
import path from "node:path";
import compression from "compression";
import express from "express";
import type { Config } from "./config.ts";
import type { Clock } from "./clock.ts";
import type { Db } from "./db/open.ts";
import type { Logger } from "./log.ts";
import { createCartCarryOver } from "./accounts/carry-over.ts";
import { sessionNotices } from "./accounts/notices.ts";
import type { SavedCarts } from "./accounts/saved-carts.ts";
import { createAudit } from "./auth/audit.ts";
import { createPasswordHasher } from "./auth/password.ts";
import { createCatalog } from "./catalog/catalog.ts";
import { createUsers } from "./auth/users.ts";
import { createOrders } from "./orders/orders.ts";
import { formatCents } from "./cart/money.ts";
import { MAX_NOTE_LENGTH, MAX_PER_LINE } from "./cart/cart.ts";
import { lazyCookies } from "./middleware/cookies.ts";
import { createCsrf } from "./middleware/csrf.ts";
import { createFlash } from "./middleware/flash.ts";
import { errorHandler, notFoundHandler } from "./middleware/errors.ts";
import type { LimitStores } from "./middleware/limit-stores.ts";
import { locals } from "./middleware/locals.ts";
import { requestLog } from "./middleware/request-log.ts";
import { noStore, securityHeaders } from "./middleware/security.ts";
import { loadSession } from "./session/middleware.ts";
import type { Classroom } from "./classroom/classroom.ts";
import type { ServerStore } from "./session/directory.ts";
import type { SessionStorage } from "./session/types.ts";
import { catalogRoutes } from "./routes/catalog-routes.ts";
import { cartRoutes } from "./routes/cart-routes.ts";
import { authRoutes } from "./routes/auth-routes.ts";
import { checkoutRoutes } from "./routes/checkout-routes.ts";
import { accountRoutes } from "./routes/account-routes.ts";
import { createClassroomLayer } from "./classroom/classroom-routes.ts";

export interface AppDeps {
  config: Config;
  db: Db;
  sessions: SessionStorage;
  /** The store behind `sessions` ("your active sessions", the instructor view); null for the cookie technique. */
  store: ServerStore | null;
  /** Demo clock, lab modes, history for the instructor's chart. */
  classroom: Classroom;
  /** The cleanup job ("sweep now"); null when the technique needs none. */
  cleanup: { runOnce(): Promise<{ removed: number } | undefined> } | null;
  /** The shop's clock: the classroom's demo clock, shifted when a class fast-forwards. */
  clock: Clock;
  /** The clock without the demo shift: the instructor's pass must not expire when a class fast-forwards. */
  realClock: Clock;
  log: Logger;
  /** The project folder (views/, public/). */
  root: string;
  /** The accounts' saved carts and why sessions ended (src/accounts/). */
  savedCarts: SavedCarts;
  /** Where the rate limits count, shared by every instance (middleware/limit-stores.ts). */
  limits: LimitStores;
}

export function createApp({ config, db, sessions, store, clock, realClock, log, root, classroom, cleanup, savedCarts, limits }: AppDeps) {
  const catalog = createCatalog(db);
  const users = createUsers(db);
  const orders = createOrders(db, classroom.createStockKeeping(db));
  const flash = createFlash({ cookieName: config.cookieSecure ? "__Host-shop_flash" : "shop_flash", secure: config.cookieSecure });
  const csrf = createCsrf(config.sessionSecrets, { cookieSecure: config.cookieSecure });
  const audit = createAudit(log);
  // Two of libuv's four threads at most for scrypt: the others keep serving files and compression.
  const passwords = createPasswordHasher({ concurrency: 2, maxWaiting: 100 });
  const carryOver = createCartCarryOver({ savedCarts, store, catalog, clock, policy: () => classroom.cartMergePolicy });
  const deps = {
    catalog,
    users,
    orders,
    sessions,
    store,
    flash,
    clock,
    audit,
    passwords,
    savedCarts,
    carryOver,
    limits,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
  };
  const onSessionEnded = (key: string) => savedCarts.recordEnd(key, "instructor", clock.now());
  const classroomLayer = createClassroomLayer({
    config,
    classroom,
    store,
    sessions,
    catalog,
    cleanup,
    flash,
    log,
    realClock,
    audit,
    db,
    onSessionEnded,
    limits,
  });

  const app = express();
  app.set("trust proxy", config.trustProxy);
  app.set("view engine", "ejs");
  app.set("views", path.join(root, "views"));
  app.set("view cache", true);
  app.disable("x-powered-by");
  // req.cookies and req.signedCookies (flash, pre-session, X-ray) are parsed when read, each signed
  // one verified when read: the session reads and verifies its own cookie, once (session/cookie.ts).
  lazyCookies(app.request, config.sessionSecrets);
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
  // gzip or brotli for HTML, CSS and SVG (a catalog page: 27 KB → 3 KB). Not the dashboard's event
  // stream: it must reach the browser event by event, not when a compression block fills.
  // (Compressed pages that reflect input are why CSRF tokens are masked per page: see csrf.ts.)
  app.use(compression({ filter: (req, res) => !String(res.getHeader("content-type") ?? "").startsWith("text/event-stream") && compression.filter(req, res) }));
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

  app.use(catalogRoutes(deps));
  app.use(cartRoutes(deps));
  app.use(authRoutes(deps));
  app.use(checkoutRoutes(deps));
  app.use(accountRoutes(deps, config));
  app.use(classroomLayer.router);

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
