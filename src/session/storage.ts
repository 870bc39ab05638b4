/**
 * The session storage: the cookie and the lifecycle, on top of any SessionStore.
 *
 *   load        cookie → signature → ID → sha256 → store record → expiry checks → open → (throttled) touch
 *   change      the only way to write: an atomic read-modify-write, sealed (seal.ts); creates the
 *               record and the cookie on first use (lazy: no row, no cookie until there is something to keep)
 *   regenerate  login: the same cart under a brand-new ID, re-sealed; the old ID is dead in the same commit
 *   destroy     logout: the record is deleted and the cookie cleared
 *
 * It trusts nothing about the cookie beyond "this exact ID was signed by us". Bad signature,
 * unknown ID, expired or unreadable record: a fresh empty session, never a throw, because all of
 * them are attacker-controlled input. Store failures do throw (503): an outage is not an empty cart.
 */
import type { Response } from "express";
import type { Clock } from "../clock.ts";
import { createSessionCookie, NOTICE_GRACE_MS, type SessionCookie } from "./cookie.ts";
import { SessionEndedError } from "./errors.ts";
import { randomIds, type SessionIds } from "./id.ts";
import { type Seal, sealFor } from "./seal.ts";
import type { Session, SessionData, SessionEvent, SessionStorage, SessionStore, StoredData, StoredSession } from "./types.ts";

/** The settings are named as in Config, so callers can pass `{ ...config, store, clock }`. */
export interface SessionStorageOptions {
  store: SessionStore;
  clock: Clock;
  cookieName: string;
  cookieSecure: boolean;
  sessionSecrets: readonly string[];
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** A read writes last-seen at most once per this interval (Lucia's rule, adapted). */
  touchIntervalMs: number;
  /** How the ID travels, how IDs are made, how data is sealed: cookie.ts, id.ts and seal.ts unless given. */
  cookie?: SessionCookie;
  ids?: SessionIds;
  seals?: (id: string, storeKey: string) => Seal;
}

export const emptyData = (): SessionData => ({ cart: [] });

export const emptySession = (events: SessionEvent[]): Session => {
  return { id: null, key: null, data: emptyData(), userId: null, createdAt: null, lastSeenAt: null, expiresAt: null, events };
};

const userAgentOf = (res: Response) => res.req?.get("user-agent")?.slice(0, 200) ?? null;

export function createSessionStorage(options: SessionStorageOptions): SessionStorage {
  const { store, clock, idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = options;
  const cookie = options.cookie ?? createSessionCookie(options);
  const ids = options.ids ?? randomIds;
  const seals = options.seals ?? sealFor;

  /** Both timeouts, in one number: the moment the record dies unless touched again. */
  const expiryFor = (createdAt: number, lastSeenAt: number) => Math.min(lastSeenAt + idleTimeoutMs, createdAt + absoluteTimeoutMs);

  /** A record that starts now (the absolute timeout counts from here), its data sealed. */
  const newRecord = (now: number, data: StoredData, userId: number | null, res: Response): StoredSession => {
    return { data, userId, createdAt: now, lastSeenAt: now, expiresAt: expiryFor(now, now), userAgent: userAgentOf(res) };
  };

  const adopt = (session: Session, id: string, key: string, { userId, createdAt, lastSeenAt, expiresAt }: StoredSession, data: SessionData) => {
    Object.assign(session, { id, key, data, userId, createdAt, lastSeenAt, expiresAt });
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
      const key = cookie.keyOf(raw); // sha256, remembered for cookies verified before
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
      const data = seals(raw, key).open(stored.data);
      if (!data) return refuse(res, "unreadable"); // changed in the store, or copied from another row

      const session = emptySession(["loaded"]);
      adopt(session, raw, key, stored, data);
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
     * `mutate` gets the freshest data, opened; synchronous, it may throw to refuse (nothing written),
     * and may run again on fresher data (types.ts). Without a record yet: a new ID, record and cookie.
     */
    async change(session, res, mutate, options) {
      const now = clock.now();
      if (session.key === null) {
        const data = mutate(emptyData());
        const id = await ids.generate();
        const key = cookie.keyOf(id);
        const stored = newRecord(now, seals(id, key).seal(data), null, res);
        await store.create(key, stored);
        adopt(session, id, key, stored, data);
        session.events.push("created");
        send(res, id, stored);
        return;
      }
      const seal = seals(session.id!, session.key);
      let data = session.data;
      const changed = (current: StoredSession): StoredSession => {
        const opened = seal.open(current.data);
        if (!opened) throw new SessionEndedError(); // changed in the store since this request loaded it
        data = mutate(opened); // a run whose result the store discards is overwritten by the next run
        return { ...current, data: seal.seal(data), lastSeenAt: now, expiresAt: expiryFor(current.createdAt, now) };
      };
      const updated = await store.update(session.key, now, changed, options);
      if (!updated) {
        // Logged out (or expired) after this request loaded the session. Writing anyway would
        // resurrect it; creating a new one would hide what happened. Refuse, loudly (409).
        session.events.push("ended-meanwhile");
        cookie.clear(res);
        throw new SessionEndedError();
      }
      adopt(session, session.id!, session.key, updated, data);
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
      const key = cookie.keyOf(id);
      let data = emptyData();
      const fresh = (current: SessionData) => {
        data = change.data ? change.data(current) : current;
        return newRecord(now, seals(id, key).seal(data), change.userId, res); // re-sealed under the new ID's key
      };
      // rekey is atomic and refuses when the old record is gone: a session logged out meanwhile is never carried over.
      const old = session.key ? seals(session.id!, session.key) : null;
      let stored = old && (await store.rekey(session.key!, key, now, (current) => fresh(old.open(current.data) ?? emptyData())));
      if (!stored) {
        stored = fresh(emptyData()); // no record to carry over (a guest who stored nothing, or one that ended meanwhile)
        await store.create(key, stored);
      }
      adopt(session, id, key, stored, data);
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
