/**
 * The classroom layer on top of the shop: what every page needs to know (technique, demo clock,
 * vulnerable modes, the X-ray), the X-ray switch, the labs, and the instructor dashboard.
 * Everything here is off when CLASSROOM is false (the default in production).
 */
import { Router, type RequestHandler } from "express";
import type { Audit } from "../auth/audit.ts";
import type { Sql } from "../db/sql.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { Clock } from "../clock.ts";
import type { LimitStores } from "../middleware/limit-stores.ts";
import type { Config } from "../config.ts";
import { addItem, setNote } from "../cart/cart.ts";
import { badRequest, notFound } from "../errors.ts";
import { safeLocalPath } from "../safe-local-path.ts";
import { SessionTooLargeError } from "../session/errors.ts";
import { newSessionId } from "../session/id.ts";
import type { ServerStore } from "../session/directory.ts";
import type { SessionStorage } from "../session/types.ts";
import type { Classroom } from "./classroom.ts";
import { labModeLabels } from "./classroom.ts";
import { createInstructorAuth } from "./instructor-auth.ts";
import { instructorRoutes } from "./instructor-routes.ts";
import { lab10Page, lab10Routes } from "./lab-10-routes.ts";
import { lab11Page, lab11Routes } from "./lab-11-routes.ts";
import { lab13Page, lab13Routes } from "./lab-13-routes.ts";
import { createLab14 } from "./lab-14-routes.ts";
import { lab15Page, lab15Routes } from "./lab-15-routes.ts";
import { labs } from "./labs.ts";
import { createXray } from "./xray.ts";

export interface ClassroomDeps {
  config: Config;
  classroom: Classroom;
  store: ServerStore | null;
  sessions: SessionStorage;
  catalog: Catalog;
  cleanup: { runOnce(): Promise<{ removed: number } | undefined> } | null;
  flash: { set(res: import("express").Response, kind: "success" | "error" | "info", text: string): void };
  realClock: Clock;
  log: { warn(obj: object, msg: string): void };
  audit: Audit;
  /** The instructor's passes are kept in the shop's database. */
  db: Sql;
  /** Where the instructor password's limit counts (middleware/limit-stores.ts). */
  limits: LimitStores;
  /** The instructor ended this session on purpose: its next request is told so (src/accounts/notices.ts). */
  onSessionEnded?: (key: string) => Promise<void>;
}

export const techniqueNames = { sqlite: "SQLite", memory: "Memory", cookie: "Cookie", redis: "Redis", postgres: "PostgreSQL", student: "Your store" } as const;

/** A gift note long enough that a dozen of them overflow a 4 KB cookie. */
const LONG_NOTE =
  "Happy birthday! With love from all of us at the office. We hope this brightens your mornings for years to come, and that you think of us every time you use it. Enjoy!!";

export function createClassroomLayer(deps: ClassroomDeps) {
  const { config, classroom, sessions, catalog, flash } = deps;
  const technique = sessions.technique;
  const xray = createXray({ ...config, technique, enabled: config.classroom, secure: config.cookieSecure });
  const auth = createInstructorAuth(config, deps.realClock, deps.db);

  /** After loadSession: what the header, the banners and the X-ray panel show. */
  const locals: RequestHandler = async (req, res, next) => {
    const instructor = config.instructorPassword !== null && (await auth.isInstructor(req));
    res.locals.classroom = {
      enabled: config.classroom,
      technique,
      techniqueName: techniqueNames[technique],
      label: config.shopLabel,
      instanceName: config.instanceName,
      offsetMs: classroom.offsetMs,
      shiftedNow: classroom.clock.now(),
      vulnerable: Object.entries(labModeLabels)
        .filter(([name]) => classroom.labModes[name as keyof typeof labModeLabels])
        .map(([, label]) => label),
      xrayOn: xray.isOn(req),
      instructor,
    };
    res.locals.instructorCsrf = res.locals.classroom.instructor ? auth.csrfToken(req) : "";
    if (xray.isOn(req)) {
      res.locals.xray = () => xray.model(req, res, classroom.clock.now());
      if (req.method === "GET") xray.forget(req, res);
    } else res.locals.xray = null;
    next();
  };

  const router = Router();
  if (!config.classroom) return { locals, remember: xray.remember, router };

  router.post("/xray", (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    xray.toggle(res, form.on === "1");
    res.redirect(303, safeLocalPath(form.returnTo, "/"));
  });

  router.use(instructorRoutes({ ...deps, technique, auth }));

  router.get("/labs", (_req, res) => {
    res.render("labs/index", { title: "Session labs", labs });
  });

  /** `extra`: what one lab's page needs besides the common parts (lab 5's trap, lab 11's cookie, lab 12's run). */
  const renderLab = async (res: import("express").Response, number: number, extra: Record<string, unknown> = {}) => {
    const lab = labs.find((l) => l.number === number);
    if (!lab) throw notFound("lab");
    res.render(`labs/lab-${lab.number}`, {
      title: `Lab ${lab.number}: ${lab.title}`,
      lab,
      labs,
      labModes: classroom.labModes,
      vulnerableLabsAllowed: classroom.vulnerableLabsAllowed,
      trapId: null,
      run: null,
      lab12: number === 12 ? await lab12Page(res.req.session.data.cart) : null,
      lab15: null,
      cookieName: config.cookieName,
      idleMinutes: Math.round(config.idleTimeoutMs / 60_000),
      absoluteHours: Math.round((config.absoluteTimeoutMs / 3_600_000) * 10) / 10,
      cleanupSeconds: Math.round(config.cleanupIntervalMs / 1000),
      ...extra,
    });
  };

  router.use(lab10Routes({ config, classroom, catalog, sessions, flash }));
  router.use(lab11Routes());
  router.use(lab13Routes({ catalog, sessions, classroom, flash }));
  const lab14 = createLab14({ db: deps.db, catalog, sessions, classroom, requireInstructor: auth.requireInstructor, flash });
  router.use(lab14.router);
  const lab15 = { config, store: deps.store, catalog, clock: classroom.clock };
  router.use(lab15Routes(lab15));

  router.get("/labs/:n", async (req, res) => {
    const lab = /^\d{1,2}$/.test(req.params.n) ? Number(req.params.n) : 0;
    if (lab === 12) return renderLab(res, 12, { run: lab12Run(req.query) });
    if (lab === 11) return renderLab(res, 11, lab11Page(req));
    if (lab === 10) return renderLab(res, 10, { lab10: await lab10Page(req, { config, classroom, catalog }) });
    if (lab === 13) return renderLab(res, 13, await lab13Page(req, res, { catalog, classroom }));
    if (lab === 14) return renderLab(res, 14, await lab14.page(req, res));
    if (lab === 15) return renderLab(res, 15, await lab15Page(req, res, lab15));
    await renderLab(res, lab);
  });

  // Lab 2: a few long gift notes, to find the cookie technique's 4 KB wall in one click.
  router.post("/labs/2/fill", async (req, res) => {
    const products = [...(await catalog.productsByIds([1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 15, 16, 17, 18, 19])).values()].filter((p) => p.stock > 0);
    try {
      await sessions.change(req.session, res, (data) => {
        let cart = data.cart;
        for (const product of products) {
          const added = cart.some((l) => l.productId === product.id) ? { ok: true as const, cart } : addItem(cart, product, 1);
          if (!added.ok) throw badRequest(added.message);
          const noted = setNote(added.cart, product.id, LONG_NOTE);
          if (!noted.ok) throw badRequest(noted.message);
          cart = noted.cart;
        }
        return { ...data, cart };
      });
      const bytes = Buffer.byteLength(JSON.stringify(req.session.data));
      flash.set(
        res,
        "success",
        `Added ${products.length} products, each with a gift note: the cart is now ${bytes.toLocaleString("en-US")} bytes of JSON, and it fits (${techniqueNames[technique]} technique).`,
      );
    } catch (error) {
      if (!(error instanceof SessionTooLargeError)) throw error;
      flash.set(res, "error", error.message);
    }
    res.redirect(303, "/labs/2");
  });

  // Lab 5: the attacker's side. A fresh ID of the attacker's choosing, and the link that plants it.
  router.post("/labs/5/trap", async (_req, res) => {
    if (!classroom.labModes.fixation) {
      flash.set(res, "info", "The fixed shop ignores ?sid= in links: switch on the fixation mode on this page first (instructor only).");
      return void res.redirect(303, "/labs/5");
    }
    // The attacker opens the trap link too: the vulnerable shop sets the same ID in both browsers.
    await renderLab(res, 5, { trapId: newSessionId() });
  });

  // Lab 12: the slow add. It waits between loading the session (when the request began) and
  // saving it, as a slow upload or a call to a payment provider would: the window in which a
  // whole-session write-back loses what another tab saved. The atomic change loses nothing.
  const lab12Product = async () => {
    const product = await catalog.productById(LAB12_PRODUCT_ID);
    if (!product) throw notFound("product");
    return product;
  };
  async function lab12Page(cart: readonly import("../session/types.ts").CartLine[]) {
    const product = await lab12Product();
    return { product, quantity: cart.find((l) => l.productId === product.id)?.quantity ?? 0, fire: LAB12_FIRE, slowMs: LAB12_SLOW_MS };
  }

  router.post("/labs/12/reset", async (req, res) => {
    const product = await lab12Product();
    await sessions.change(req.session, res, (data) => {
      const rest = data.cart.filter((l) => l.productId !== product.id);
      const added = addItem(rest, product, 1);
      if (!added.ok) throw badRequest(added.message);
      return { ...data, cart: added.cart };
    });
    flash.set(res, "success", `The cart holds 1 × ${product.name}. Now fire the adds.`);
    res.redirect(303, "/labs/12");
  });

  router.post("/labs/12/add", async (req, res) => {
    const product = await lab12Product();
    const wantsJson = (req.get("accept") ?? "").includes("application/json");
    // Simultaneous first adds would each create a session of their own: there must be one already.
    if (req.session.key === null) {
      if (wantsJson) return void res.status(409).json({ ok: false, message: "Press “Start: 1 in the cart” first." });
      flash.set(res, "info", "Press “Start: 1 in the cart” first: the adds must share one session.");
      return void res.redirect(303, "/labs/12");
    }
    await new Promise((resolve) => setTimeout(resolve, LAB12_SLOW_MS));
    const fresh = (await catalog.productById(product.id)) ?? product; // its stock now, after the wait
    await sessions.change(req.session, res, (data) => {
      const added = addItem(data.cart, fresh, 1);
      if (!added.ok) throw badRequest(added.message);
      return { ...data, cart: added.cart };
    });
    if (wantsJson) return void res.json({ ok: true });
    flash.set(res, "success", `Added 1 × ${product.name} (slowly: ${LAB12_SLOW_MS} ms between load and save).`);
    res.redirect(303, "/labs/12");
  });

  return { locals, remember: xray.remember, router };
}

/** Lab 12's product (Glass Storage Jar: plenty in stock), how many adds the button fires, and the slow add's wait. */
const LAB12_PRODUCT_ID = 12;
const LAB12_FIRE = 8;
const LAB12_SLOW_MS = 300;

interface Lab12Run {
  sent: number;
  acked: number;
  before: number;
}

/** The script's report, from the query string: small whole numbers only, never passed on as they came. */
function lab12Run(query: Record<string, unknown>): Lab12Run | null {
  const n = (v: unknown) => (typeof v === "string" && /^\d{1,2}$/.test(v) ? Number(v) : null);
  const [sent, acked, before] = [n(query.sent), n(query.acked), n(query.before)];
  return sent === null || acked === null || before === null || acked > sent ? null : { sent, acked, before };
}
