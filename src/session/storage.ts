/**
 * The session storage: the cookie and the lifecycle, on top of any SessionStore.
 *
 *   load        cookie → signature → ID → sha256 → store record → expiry checks → (throttled) touch
 *   change      the only way to write: an atomic read-modify-write; creates the record and the
 *               cookie on first use (lazy: no row, no cookie until there is something to keep)
 *   regenerate  login: the same cart under a brand-new ID; the old ID is dead in the same commit
 *   destroy     logout: the record is deleted and the cookie cleared
 *
 * What it does not do: it never trusts anything about the cookie beyond "this exact ID was
 * signed by us". Bad signature, unknown ID, expired record: all give a fresh empty session and
 * never throw, because all of them are attacker-controlled input. Real store failures do throw
 * (the app shows a 503), so an outage is never mistaken for an empty cart.
 */
import type { Request, Response, CookieOptions } from "express";
import type { Clock } from "../clock.ts";
import { hashSessionId, isWellFormedSessionId, newSessionId } from "./id.ts";
import { safeLabModes, type LabModes, type Session, type SessionData, type SessionStorage, type SessionStore, type StoredSession } from "./types.ts";

/** The settings are named as in Config, so callers can pass `{ ...config, store, clock }`. */
export interface SessionStorageOptions {
  store: SessionStore;
  clock: Clock;
  cookieName: string;
  /** Secure cookies (HTTPS only). The __Host- prefix in the name requires it. */
  cookieSecure: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** A read writes last-seen at most once per this interval (Lucia's rule, adapted). */
  touchIntervalMs: number;
  /** Classroom labs only: deliberately broken behaviours, all off by default. */
  labModes?: LabModes;
}

/** Thrown by change() when the session ended while the request was running (a logout in another tab). */
export class SessionEndedError extends Error {
  constructor() {
    super("Your session ended while this request was on its way (did you sign out in another tab?). Nothing was changed.");
  }
}

export const emptyData = (): SessionData => ({ cart: [] });

export function createSessionStorage(options: SessionStorageOptions): SessionStorage {
  const { store, clock, cookieName, idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = options;
  const lab = options.labModes ?? safeLabModes;
  // LAB 8 ONLY: a counter, the classic mistake. Starts somewhere random so it looks "fine" at first sight.
  let sequence = 1000 + Math.floor(Math.random() * 9000);
  const SEQUENTIAL_ID = /^\d{1,12}$/;

  const cookieAttributes: CookieOptions = {
    httpOnly: true, // page scripts cannot read the ID, so an XSS bug cannot simply copy it out
    sameSite: "lax", // not sent on cross-site POSTs; still sent when a link from elsewhere is followed
    secure: options.cookieSecure,
    path: "/",
    // No Domain attribute: the cookie goes back to this host only, not to sibling subdomains.
  };

  /** Both timeouts, in one number: the moment the record dies unless touched again. */
  const expiryFor = (createdAt: number, lastSeenAt: number) => Math.min(lastSeenAt + idleTimeoutMs, createdAt + absoluteTimeoutMs);

  const freshSession = (events: Session["events"]): Session => ({
    id: null,
    key: null,
    data: emptyData(),
    userId: null,
    createdAt: null,
    lastSeenAt: null,
    expiresAt: null,
    events,
  });

  const adopt = (session: Session, id: string, key: string, stored: StoredSession) => {
    session.id = id;
    session.key = key;
    session.data = stored.data;
    session.userId = stored.userId;
    session.createdAt = stored.createdAt;
    session.lastSeenAt = stored.lastSeenAt;
    session.expiresAt = stored.expiresAt;
  };

  // The cookie lives as long as the server-side record would; the server's clock stays the authority.
  const sendCookie = (res: Response, session: Session) =>
    res.cookie(cookieName, session.id, {
      ...cookieAttributes,
      // LAB 8 ONLY: sequential IDs go out unsigned, as in the apps that make this mistake.
      signed: !SEQUENTIAL_ID.test(session.id!),
      expires: new Date(session.expiresAt!),
    });

  const userAgentOf = (res: Response) => res.req?.get("user-agent")?.slice(0, 200) ?? null;

  // Expired "with the same name and Path", or the browser keeps the old one.
  const clearCookie = (res: Response) => res.clearCookie(cookieName, cookieAttributes);

  const storage: SessionStorage = {
    technique: store.kind as SessionStorage["technique"],
    cookieName,

    async load(req: Request, res: Response): Promise<Session> {
      // Only signed cookies: cookie-parser gives false for a bad signature, undefined for none.
      // The unsigned req.cookies value is never read (except by the deliberately broken lab 8).
      let raw: unknown = req.signedCookies?.[cookieName];
      // LAB 5 ONLY: the vulnerable shop takes an ID from the URL (?sid=…) and puts it in the cookie,
      // the way old URL-rewriting session schemes did. This is how a fixation link works.
      const planted = lab.fixation ? req.query?.sid : undefined;
      if (isWellFormedSessionId(planted)) {
        raw = planted;
        res.cookie(cookieName, planted, { ...cookieAttributes, signed: true });
      }
      const unsigned: unknown = req.cookies?.[cookieName];
      if (lab.sequentialIds && raw === undefined && typeof unsigned === "string" && SEQUENTIAL_ID.test(unsigned)) raw = unsigned;
      if (raw === undefined) {
        if (req.cookies?.[cookieName] !== undefined) {
          // Present but not signed at all (a planted or hand-made value): same as a bad signature.
          clearCookie(res);
          return freshSession(["bad-signature"]);
        }
        return freshSession(["no-cookie"]);
      }
      if (raw === false) {
        clearCookie(res);
        return freshSession(["bad-signature"]);
      }
      if (!isWellFormedSessionId(raw) && !(lab.sequentialIds && typeof raw === "string" && SEQUENTIAL_ID.test(raw))) {
        clearCookie(res);
        return freshSession(["malformed-id"]);
      }

      const now = clock.now();
      const key = hashSessionId(raw);
      const stored = await store.get(key, now);
      if (!stored) {
        // Unknown, destroyed or expired: never adopted, never re-created under this ID. The ID was
        // signed by us, so it is ours: delete any expired row now rather than at the next sweep,
        // and clear the dead cookie so the browser stops sending it.
        if (lab.fixation) {
          // LAB 5 ONLY: an unknown ID is adopted as it is, so a planted cookie becomes a real session.
          await store.destroy(key); // an expired leftover under this ID would block the insert
          const session = freshSession(["lab-adopted-planted-id"]);
          session.plantedId = raw;
          return session;
        }
        const dead = await store.peek(key); // only to say why, for the X-ray panel
        await store.destroy(key);
        clearCookie(res);
        if (!dead) return freshSession(["unknown-id"]);
        return freshSession([
          now - dead.createdAt >= absoluteTimeoutMs || dead.expiresAt === dead.createdAt + absoluteTimeoutMs ? "expired-absolute" : "expired-idle",
        ]);
      }
      // Both timeouts are checked against the current settings, not only the stored expires_at,
      // so shortening a timeout takes effect at once for existing sessions too.
      const idleOver = now - stored.lastSeenAt >= idleTimeoutMs;
      const absoluteOver = now - stored.createdAt >= absoluteTimeoutMs;
      if (idleOver || absoluteOver) {
        await store.destroy(key);
        clearCookie(res);
        return freshSession([absoluteOver ? "expired-absolute" : "expired-idle"]);
      }

      const session = freshSession(["loaded"]);
      adopt(session, raw, key, stored);
      // Sliding expiry without a write per page view: touch at most once per interval.
      if (now - stored.lastSeenAt >= touchIntervalMs) {
        const expiresAt = expiryFor(stored.createdAt, now);
        if (await store.touch(key, now, expiresAt)) {
          session.lastSeenAt = now;
          session.expiresAt = expiresAt;
          session.events.push("touched");
          sendCookie(res, session);
        }
      }
      return session;
    },

    /**
     * Apply `mutate` to the freshest stored data, atomically. `mutate` must be synchronous and may
     * throw to refuse the change (nothing is written then). On a session without a record this
     * creates the record with a new random ID and sends the cookie.
     */
    async change(session: Session, res: Response, mutate: (data: SessionData) => SessionData): Promise<void> {
      const now = clock.now();
      if (session.key === null) {
        const data = mutate(emptyData());
        let id = session.plantedId ?? (lab.sequentialIds ? String(sequence++) : newSessionId());
        // LAB 8 ONLY: the counter restarts with the process, but the rows of the last run may still be there.
        while (lab.sequentialIds && !session.plantedId && (await store.peek(hashSessionId(id)))) id = String(sequence++);
        const key = hashSessionId(id);
        const stored: StoredSession = {
          data,
          userId: null,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: expiryFor(now, now),
          userAgent: userAgentOf(res),
        };
        await store.create(key, stored);
        adopt(session, id, key, stored);
        session.events.push(lab.sequentialIds && !session.plantedId ? "lab-sequential-id" : "created");
        sendCookie(res, session);
        return;
      }
      const updated = await store.update(session.key, now, (current) => ({
        ...current,
        data: mutate(current.data),
        lastSeenAt: now,
        expiresAt: expiryFor(current.createdAt, now),
      }));
      if (!updated) {
        // Logged out (or expired) after this request loaded the session. Writing anyway would
        // resurrect it; creating a new one would hide what happened. Refuse, loudly.
        session.events.push("ended-meanwhile");
        clearCookie(res);
        throw new SessionEndedError();
      }
      adopt(session, session.id!, session.key, updated);
      session.events.push("saved");
      sendCookie(res, session);
    },

    /**
     * Login (and any change of privilege): the same data under a brand-new ID. A planted or
     * leaked pre-login ID becomes worthless at the moment it would become valuable (fixation).
     * The guest's cart comes along (express-session's regenerate would empty it).
     */
    async regenerate(session: Session, res: Response, change: { userId: number | null }): Promise<void> {
      const now = clock.now();
      if (lab.fixation) {
        // LAB 5 ONLY: sign in under the same ID (whoever planted it now shares the account).
        await storage.change(session, res, (data) => data);
        const signedIn = await store.update(session.key!, now, (current) => ({ ...current, userId: change.userId }));
        if (signedIn) session.userId = signedIn.userId;
        session.events.push("lab-kept-id-at-login");
        return;
      }
      const id = newSessionId();
      const key = hashSessionId(id);
      const start = (data: SessionData): StoredSession => ({
        data,
        userId: change.userId,
        createdAt: now, // a new session: the absolute timeout starts again from here
        lastSeenAt: now,
        expiresAt: expiryFor(now, now),
        userAgent: userAgentOf(res),
      });
      let stored = session.key ? await store.rekey(session.key, key, now, (current) => start(current.data)) : null;
      if (!stored) {
        // No record to carry over (a guest who stored nothing, or one that ended meanwhile).
        stored = start(emptyData());
        await store.create(key, stored);
      }
      adopt(session, id, key, stored);
      session.events.push("regenerated");
      sendCookie(res, session);
    },

    /** Logout: the record is deleted, so the old cookie value is dead everywhere, and the cookie is cleared. */
    async destroy(session: Session, res: Response): Promise<void> {
      if (lab.cookieOnlyLogout) {
        // LAB 6 ONLY: the browser forgets the cookie, the server remembers the session. A copy still works.
        clearCookie(res);
        Object.assign(session, freshSession([...session.events, "lab-cookie-only-logout"]));
        return;
      }
      if (session.key) await store.destroy(session.key);
      clearCookie(res);
      Object.assign(session, freshSession([...session.events, "destroyed"]));
    },
  };
  return storage;
}
