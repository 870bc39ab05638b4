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
import type { Response } from "express";
import type { Clock } from "../clock.ts";
import { createSessionCookie, type SessionCookie } from "./cookie.ts";
import { SessionEndedError } from "./errors.ts";
import { hashSessionId, randomIds, type SessionIds } from "./id.ts";
import type { Session, SessionData, SessionEvent, SessionStorage, SessionStore, StoredSession } from "./types.ts";

/** The settings are named as in Config, so callers can pass `{ ...config, store, clock }`. */
export interface SessionStorageOptions {
  store: SessionStore;
  clock: Clock;
  cookieName: string;
  cookieSecure: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** A read writes last-seen at most once per this interval (Lucia's rule, adapted). */
  touchIntervalMs: number;
  /** How the ID travels and how IDs are made: cookie.ts and id.ts unless given. */
  cookie?: SessionCookie;
  ids?: SessionIds;
}

export const emptyData = (): SessionData => ({ cart: [] });
export const NOTICE_GRACE_MS = 3_600_000;

export const emptySession = (events: SessionEvent[]): Session => {
  return { id: null, key: null, data: emptyData(), userId: null, createdAt: null, lastSeenAt: null, expiresAt: null, events };
};

const userAgentOf = (res: Response) => res.req?.get("user-agent")?.slice(0, 200) ?? null;

export function createSessionStorage(options: SessionStorageOptions): SessionStorage {
  const { store, clock, idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = options;
  const cookie = options.cookie ?? createSessionCookie(options);
  const ids = options.ids ?? randomIds;

  /** Both timeouts, in one number: the moment the record dies unless touched again. */
  const expiryFor = (createdAt: number, lastSeenAt: number) => Math.min(lastSeenAt + idleTimeoutMs, createdAt + absoluteTimeoutMs);

  /** A record that starts now: the absolute timeout counts from here. */
  const newRecord = (now: number, data: SessionData, userId: number | null, res: Response): StoredSession => ({
    data,
    userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: expiryFor(now, now),
    userAgent: userAgentOf(res),
  });

  const adopt = (session: Session, id: string, key: string, stored: StoredSession) => {
    Object.assign(session, { id, key, data: stored.data, userId: stored.userId });
    Object.assign(session, { createdAt: stored.createdAt, lastSeenAt: stored.lastSeenAt, expiresAt: stored.expiresAt });
  };

  /** A signed cookie we will not honour: clear it so the browser stops sending it. */
  const refuse = (res: Response, event: SessionEvent, ended?: Session["ended"]) => {
    cookie.clear(res);
    return { ...emptySession([event]), ended };
  };
  // The browser keeps the cookie until the absolute end and an hour more: the server enforces both
  // timeouts itself, and a cookie that outlives its session lets the shop say why it ended.
  const send = (res: Response, id: string, stored: StoredSession) => cookie.send(res, id, stored.createdAt + absoluteTimeoutMs + NOTICE_GRACE_MS);

  const storage: SessionStorage = {
    technique: store.kind,
    cookieName: cookie.name,

    async load(req, res) {
      const raw = cookie.read(req);
      if (raw === undefined) return emptySession(["no-cookie"]);
      if (raw === false) return refuse(res, "bad-signature");
      if (!ids.isWellFormed(raw)) return refuse(res, "malformed-id");

      const now = clock.now();
      const key = hashSessionId(raw);
      const stored = await store.get(key, now);
      if (!stored) {
        // Unknown, destroyed or expired: never adopted, never re-created under this ID. The ID was
        // signed by us, so it is ours: delete any expired row now rather than at the next sweep.
        const dead = await store.peek(key); // only to say why, for the X-ray panel
        await store.destroy(key);
        if (!dead) return refuse(res, "unknown-id", { key, record: null });
        const absolute = now - dead.createdAt >= absoluteTimeoutMs || dead.expiresAt === dead.createdAt + absoluteTimeoutMs;
        return refuse(res, absolute ? "expired-absolute" : "expired-idle", { key, record: dead });
      }
      // Both timeouts are checked against the current settings, not only the stored expires_at,
      // so shortening a timeout takes effect at once for existing sessions too.
      const idleOver = now - stored.lastSeenAt >= idleTimeoutMs;
      const absoluteOver = now - stored.createdAt >= absoluteTimeoutMs;
      if (idleOver || absoluteOver) {
        await store.destroy(key);
        return refuse(res, absoluteOver ? "expired-absolute" : "expired-idle", { key, record: stored });
      }

      const session = emptySession(["loaded"]);
      adopt(session, raw, key, stored);
      // Sliding expiry without a write per page view: touch at most once per interval.
      if (now - stored.lastSeenAt >= touchIntervalMs) {
        const expiresAt = expiryFor(stored.createdAt, now);
        if (await store.touch(key, now, expiresAt)) {
          session.lastSeenAt = now;
          session.expiresAt = expiresAt;
          session.events.push("touched");
          send(res, raw, stored); // the same lifetime; re-signed with the current secret after a rotation
        }
      }
      return session;
    },

    /**
     * Apply `mutate` to the freshest stored data, atomically. `mutate` must be synchronous and may
     * throw to refuse the change (nothing is written then). On a session without a record this
     * creates the record with a new random ID and sends the cookie.
     */
    async change(session, res, mutate) {
      const now = clock.now();
      if (session.key === null) {
        const data = mutate(emptyData());
        const id = await ids.generate();
        const stored = newRecord(now, data, null, res);
        await store.create(hashSessionId(id), stored);
        adopt(session, id, hashSessionId(id), stored);
        session.events.push("created");
        send(res, id, stored);
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
        // resurrect it; creating a new one would hide what happened. Refuse, loudly (409).
        session.events.push("ended-meanwhile");
        cookie.clear(res);
        throw new SessionEndedError();
      }
      adopt(session, session.id!, session.key, updated);
      session.events.push("saved");
    },

    /**
     * Login (and any change of privilege): the same data under a brand-new ID. A planted or
     * leaked pre-login ID becomes worthless at the moment it would become valuable (fixation).
     * The guest's cart comes along (express-session's regenerate would empty it).
     */
    async regenerate(session, res, change) {
      const now = clock.now();
      const id = await ids.generate();
      const key = hashSessionId(id);
      // rekey is atomic and refuses when the old record is gone: a session logged out meanwhile is never carried over.
      const data = change.data ?? ((d: SessionData) => d);
      let stored = session.key ? await store.rekey(session.key, key, now, (current) => newRecord(now, data(current.data), change.userId, res)) : null;
      if (!stored) {
        // No record to carry over (a guest who stored nothing, or one that ended meanwhile).
        stored = newRecord(now, data(emptyData()), change.userId, res);
        await store.create(key, stored);
      }
      adopt(session, id, key, stored);
      session.events.push("regenerated");
      send(res, id, stored);
    },

    /** Logout: the record is deleted, so the old cookie value is dead everywhere, and the cookie is cleared. */
    async destroy(session, res) {
      if (session.key) await store.destroy(session.key);
      cookie.clear(res);
      Object.assign(session, emptySession([...session.events, "destroyed"]));
    },
  };
  return storage;
}
