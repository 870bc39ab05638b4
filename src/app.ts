/**
 * createApp: the middleware order and the routers, nothing else. It never listens, so tests
 * mount it on an ephemeral port and server.ts on the configured one.
 */
import path from "node:path";
import cookieParser from "cookie-parser";
import express from "express";
import type { Config } from "./config.js";
import type { Clock } from "./clock.js";
import type { Db } from "./db/open.js";
import type { Logger } from "./log.js";
import { createCatalog } from "./catalog/catalog.js";
import { createUsers } from "./auth/users.js";
import { createOrders } from "./orders/orders.js";
import { formatCents } from "./cart/money.js";
import { createCsrf } from "./middleware/csrf.js";
import { createFlash } from "./middleware/flash.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { locals } from "./middleware/locals.js";
import { requestLog } from "./middleware/request-log.js";
import { noStore, securityHeaders } from "./middleware/security.js";
import { loadSession } from "./session/middleware.js";
import type { Classroom } from "./classroom/classroom.js";
import type { SessionStorage, SessionStore } from "./session/types.js";
import { catalogRoutes } from "./routes/catalog-routes.js";
import { cartRoutes } from "./routes/cart-routes.js";
import { authRoutes } from "./routes/auth-routes.js";
import { checkoutRoutes } from "./routes/checkout-routes.js";
import { accountRoutes } from "./routes/account-routes.js";
import { createClassroomLayer } from "./classroom/classroom-routes.js";

export interface AppDeps {
  config: Config;
  db: Db;
  sessions: SessionStorage;
  /** The store behind `sessions` ("your active sessions", the instructor view); null for the cookie technique. */
  store: SessionStore | null;
  /** Demo clock, lab modes, history for the instructor's chart. */
  classroom: Classroom;
  /** The cleanup job ("sweep now"); null when the technique needs none. */
  cleanup: { runOnce(): Promise<{ removed: number } | undefined> } | null;
  clock: Clock;
  log: Logger;
  /** The project folder (views/, public/). */
  root: string;
}

/** The clock without the demo shift: the instructor's pass must not expire when a class fast-forwards. */
const realClockOf = (classroom: Classroom, shifted: Clock): Clock => ({ now: () => shifted.now() - classroom.offsetMs });

export function createApp({ config, db, sessions, store, clock, log, root, classroom, cleanup }: AppDeps) {
  const catalog = createCatalog(db);
  const users = createUsers(db);
  const orders = createOrders(db);
  const flash = createFlash({ cookieName: config.cookieSecure ? "__Host-shop_flash" : "shop_flash", secure: config.cookieSecure });
  const csrf = createCsrf(config.sessionSecrets);
  const deps = { catalog, users, orders, sessions, store, flash, clock };
  const classroomLayer = createClassroomLayer({ config, classroom, store, sessions, catalog, cleanup, flash, log, realClock: realClockOf(classroom, clock) });

  const app = express();
  app.set("trust proxy", config.trustProxy);
  app.set("view engine", "ejs");
  app.set("views", path.join(root, "views"));
  app.set("view cache", true);
  app.disable("x-powered-by");
  Object.assign(app.locals, { formatCents, categories: catalog.categories, user: null, cartCount: 0, flash: null, csrfToken: "", q: "", path: "/", here: "/",
    // Pages rendered before the classroom middleware ran (early errors) show no classroom parts.
    classroom: { enabled: false, technique: sessions.technique, vulnerable: [], offsetMs: 0, xrayOn: false }, xray: null });

  app.use(requestLog(log));
  // Which process answered: with several instances behind a balancer, the class sees requests hop.
  app.use((_req, res, next) => {
    res.setHeader("X-Served-By", config.instanceName);
    next();
  });
  app.use(securityHeaders({ https: config.cookieSecure }));
  // Static files first: images and CSS never load a session.
  app.use(express.static(path.join(root, "public"), { maxAge: config.production ? "1d" : 0 }));
  app.use(noStore);
  app.use(cookieParser([...config.sessionSecrets]));
  app.use(loadSession(sessions));
  app.use(classroomLayer.remember);
  app.use(flash.read);
  app.use(locals(users));
  app.use(classroomLayer.locals);
  // Small forms only; extended: false keeps bodies flat (no nested objects from "a[b]=c").
  app.use(express.urlencoded({ extended: false, limit: "8kb", parameterLimit: 20 }));
  app.use(csrf.protect);

  app.use(catalogRoutes(deps));
  app.use(cartRoutes(deps));
  app.use(authRoutes(deps));
  app.use(checkoutRoutes(deps));
  app.use(accountRoutes(deps));
  app.use(classroomLayer.router);

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
