/**
 * Lab 15: what a stolen database gives away. The instructor shows the session records as a thief
 * with a copy of the database file (or a Redis dump) sees them — hashed keys, sealed blobs, the
 * columns that stay in clear — next to this browser's own record, opened with its cookie as the shop
 * opens it (src/session/seal.ts). And the thief's next move, for real: a hash from the table sent
 * back as the session cookie, signed with the shop's own secret (the worst case: the secrets were
 * stolen too), is refused.
 *
 * Nothing here is vulnerable: sealing is always on. The try-a-hash button signs only 64 hex digits
 * (a hash's shape), which is never the shape of a session ID, so it cannot mint a working cookie.
 */
import { type Request, type Response, Router } from "express";
import type { Catalog } from "../catalog/catalog.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { badRequest } from "../errors.ts";
import { createSessionCookie } from "../session/cookie.ts";
import type { ServerStore } from "../session/directory.ts";
import { fingerprint, hashSessionId, isWellFormedSessionId } from "../session/id.ts";
import { sealFor } from "../session/seal.ts";

export interface Lab15Deps {
  config: Config;
  store: ServerStore | null;
  catalog: Catalog;
  /** The demo clock: what the store calls "now". */
  clock: Clock;
}

const HASH = /^[0-9a-f]{64}$/;
const MAX_ROWS = 20;
/** A sealed blob is long; the table shows its start and its length. */
const excerpt = (s: string, n = 64) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

export function lab15Routes({ config, store }: Lab15Deps): Router {
  const router = Router();
  const cookie = createSessionCookie(config);
  router.post("/labs/15/try", (req, res) => {
    if (!store) throw badRequest("The cookie technique keeps no table of sessions: there is no hash to try. Run this lab on the SQLite, memory or Redis shop.");
    const hash = (req.body as Record<string, unknown> | undefined)?.hash;
    const value = typeof hash === "string" ? hash.trim().toLowerCase() : "";
    if (!HASH.test(value)) throw badRequest("Paste a key from the table: 64 hexadecimal digits (0–9, a–f).");
    // The thief's cookie: the hash, signed as the shop signs IDs. Ten minutes is plenty for a refusal.
    cookie.send(res, value, Date.now() + 600_000);
    res.redirect(303, `/labs/15?tried=${value}`);
  });
  return router;
}

/** The page: the thief's view (instructor only), this browser's record opened, and the outcome of a tried hash. */
export async function lab15Page(req: Request, res: Response, { store, catalog, clock }: Lab15Deps) {
  const session = req.session;
  const now = clock.now();
  const instructor = res.locals.classroom?.instructor === true;
  const listed = store && instructor ? await store.listAll(MAX_ROWS) : [];
  const rows = listed.map((s) => {
    const stored = JSON.stringify(s.data);
    return {
      key: s.key,
      data: excerpt(stored),
      sealed: "sealed" in s.data,
      userId: s.userId,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      userAgent: s.userAgent === null ? null : excerpt(s.userAgent, 40),
      own: s.key === session.key,
      // The thief knows the scheme (seal.ts is public): HKDF of the hash, as if it were the ID. It does not open.
      opensWithHash: "sealed" in s.data && sealFor(s.key, s.key).open(s.data) !== null,
    };
  });

  const record = store && session.key ? await store.get(session.key, now) : null;
  const products = await catalog.productsByIds(session.data.cart.map((l) => l.productId));
  const own = record
    ? {
        fingerprint: fingerprint(session.key!),
        stored: excerpt(JSON.stringify(record.data), 96),
        sealed: "sealed" in record.data,
        lines: session.data.cart.map((l) => ({
          name: products.get(l.productId)?.name ?? `Product ${l.productId}`,
          quantity: l.quantity,
          note: l.note ?? null,
        })),
        plaintext: JSON.stringify(session.data),
      }
    : null;

  const query = req.query as Record<string, unknown>;
  const tried = typeof query.tried === "string" && HASH.test(query.tried) ? query.tried : null;
  let attempt = null;
  if (tried && store) {
    const row = await store.peek(tried);
    attempt = {
      fingerprint: fingerprint(tried),
      // What this very request did with the cookie the browser sent (the X-ray shows the same).
      refused: session.events.includes("malformed-id") || session.events.includes("unknown-id") || session.events.includes("unreadable"),
      events: session.events,
      wellFormed: isWellFormedSessionId(tried),
      rowUnderItsHash: (await store.peek(hashSessionId(tried))) !== null,
      rowExists: row !== null,
      opens: row !== null && "sealed" in row.data && sealFor(tried, tried).open(row.data) !== null,
    };
  }
  return {
    lab15: { instructor, listable: store !== null, rows, own, attempt, notSealed: rows.filter((r) => !r.sealed).length, maxRows: MAX_ROWS, now },
  };
}
