/**
 * The classroom's deliberately broken sessions, wrapped around the honest storage
 * (src/session/storage.ts), which knows nothing about them. Every broken branch says which lab it
 * is for. This wrapper is built only when the shop may run vulnerable labs
 * (CLASSROOM_VULNERABLE_LABS=1, refused in production); each mode is read on every call, so the
 * instructor's switch takes effect on the next request, and with every mode off each call goes
 * straight to the honest code.
 */
import type { Response } from "express";
import { createSessionCookie, type SessionCookie } from "../session/cookie.ts";
import { hashSessionId, randomIds, type SessionIds } from "../session/id.ts";
import { sealFor } from "../session/seal.ts";
import { NOTICE_GRACE_MS } from "../session/cookie.ts";
import { createSessionStorage, emptyData, emptySession, type SessionStorageOptions } from "../session/storage.ts";
import type { SessionStorage } from "../session/types.ts";

declare module "../session/types.ts" {
  interface SessionEvents {
    "lab-adopted-planted-id": true;
    "lab-kept-id-at-login": true;
    "lab-cookie-only-logout": true;
    "lab-sequential-id": true;
    "lab-whole-write-back": true;
    "lab-cookie-resent": true;
  }
}

/** The switches on the instructor dashboard. All false unless an instructor turns them on. */
export interface LabModes {
  /** Lab 5: accept a planted ID (from ?sid= or an unknown cookie) and keep the ID at login. */
  fixation: boolean;
  /** Lab 6: logout clears the cookie but leaves the stored record alive. */
  cookieOnlyLogout: boolean;
  /** Lab 8: IDs from a counter, in an unsigned cookie. */
  sequentialIds: boolean;
  /** Lab 12: change the copy loaded when the request began and write the whole session back (express-session's way). */
  wholeWriteBack: boolean;
  /** Lab 10: the shop's CSRF checks (origin and token) are skipped for the shop's own forms (lab-10-csrf.ts). */
  csrfChecksOff: boolean;
  /** Lab 10: the session cookie goes out with SameSite=None (and Secure, which None requires). */
  sameSiteNone: boolean;
  /** Lab 10: the session cookie goes out with SameSite=Strict. */
  sameSiteStrict: boolean;
  /** Lab 14: checkout checks the stock, waits, then decrements without a condition (last-unit.ts). */
  checkThenDecrement: boolean;
}

type SameSite = "lax" | "none" | "strict";

/** LAB 10 ONLY: the SameSite value the session cookie is sent with now (the honest cookie's is Lax). */
const labSameSite = (modes: LabModes): SameSite => (modes.sameSiteNone ? "none" : modes.sameSiteStrict ? "strict" : "lax");

const SEQUENTIAL_ID = /^\d{1,12}$/;

/** LAB 10 ONLY: browsers drop a SameSite=None cookie without Secure; http://localhost counts as secure (lab-10 lesson). */
const labAttributes = (sameSite: SameSite) => (sameSite === "none" ? { sameSite, secure: true } : sameSite === "strict" ? { sameSite } : {});

export function createVulnerableStorage(options: SessionStorageOptions, modes: LabModes): SessionStorage {
  const { store, clock } = options;
  const signed = createSessionCookie(options);
  // LAB 10 ONLY: which sessions' cookies went out with a SameSite other than Lax, so that the
  // instructor's switch reaches cookies already in browsers (re-sent at their next request).
  const sentWith = new Map<string, SameSite>();
  const remember = (key: string, sameSite: SameSite) => {
    if (sameSite === "lax") return void sentWith.delete(key);
    if (sentWith.size >= 10_000) sentWith.clear(); // at worst a cookie is re-sent once more
    sentWith.set(key, sameSite);
  };
  // LAB 8 ONLY: a counter, the classic mistake. Starts somewhere random so it looks "fine" at first sight.
  let sequence = 1000 + Math.floor(Math.random() * 9000);

  const ids: SessionIds = {
    async generate() {
      if (!modes.sequentialIds) return randomIds.generate();
      // LAB 8 ONLY: the counter restarts with the process, but the rows of the last run may still be there.
      let id = String(sequence++);
      while (await store.peek(hashSessionId(id))) id = String(sequence++);
      return id;
    },
    isWellFormed: (value): value is string => randomIds.isWellFormed(value) || (modes.sequentialIds && typeof value === "string" && SEQUENTIAL_ID.test(value)),
  };

  const cookie: SessionCookie = {
    ...signed,
    read(req) {
      // LAB 5 ONLY: an ID in the URL (?sid=…) wins over the cookie, as in old URL-rewriting schemes.
      const planted: unknown = modes.fixation ? req.query?.sid : undefined;
      if (randomIds.isWellFormed(planted)) return planted;
      const value = signed.read(req);
      // LAB 8 ONLY: an unsigned number in the cookie is taken at its word.
      const unsigned: unknown = req.cookies?.[signed.name];
      if (modes.sequentialIds && value === false && typeof unsigned === "string" && SEQUENTIAL_ID.test(unsigned)) return unsigned;
      return value;
    },
    send(res, id, expiresAt) {
      const sameSite = labSameSite(modes);
      remember(signed.keyOf(id), sameSite);
      // LAB 8 ONLY: sequential IDs go out unsigned, as in the apps that make this mistake.
      if (SEQUENTIAL_ID.test(id)) res.cookie(signed.name, id, { ...signed.attributes, ...labAttributes(sameSite), expires: new Date(expiresAt) });
      // LAB 10 ONLY: the same signed value, with the lab's SameSite.
      else if (sameSite !== "lax")
        res.cookie(signed.name, id, { ...signed.attributes, ...labAttributes(sameSite), signed: true, expires: new Date(expiresAt) });
      else signed.send(res, id, expiresAt);
    },
    clear(res) {
      const sameSite = labSameSite(modes);
      if (sameSite === "lax") signed.clear(res);
      else res.clearCookie(signed.name, { ...signed.attributes, ...labAttributes(sameSite) });
    },
  };

  const honest = createSessionStorage({ ...options, cookie, ids });

  /** LAB 5 ONLY: make the planted ID a real session, as a framework that adopts unknown IDs does. */
  const adoptPlanted = async (id: string, res: Response) => {
    const now = clock.now();
    const key = hashSessionId(id);
    await store.destroy(key); // an expired leftover under this ID would block the insert
    const expiresAt = Math.min(now + options.idleTimeoutMs, now + options.absoluteTimeoutMs);
    const userAgent = res.req?.get("user-agent")?.slice(0, 200) ?? null;
    await store.create(key, { data: sealFor(id, key).seal(emptyData()), userId: null, createdAt: now, lastSeenAt: now, expiresAt, userAgent });
  };

  return {
    ...honest,

    async load(req, res) {
      if (modes.fixation) {
        const planted: unknown = req.query?.sid;
        // LAB 5 ONLY: the link's ID goes into the victim's cookie. This is how a fixation link works.
        if (randomIds.isWellFormed(planted)) res.cookie(signed.name, planted, { ...signed.attributes, signed: true });
        const raw = cookie.read(req);
        if (randomIds.isWellFormed(raw) && !(await store.get(hashSessionId(raw), clock.now()))) {
          await adoptPlanted(raw, res);
          const session = await honest.load(req, res);
          session.events.unshift("lab-adopted-planted-id");
          return session;
        }
      }
      const session = await honest.load(req, res);
      // LAB 10 ONLY: the instructor changed SameSite since this browser got its cookie: send it again as it is now.
      const sameSite = labSameSite(modes);
      if (session.key !== null && session.id !== null && session.createdAt !== null && (sentWith.get(session.key) ?? "lax") !== sameSite) {
        cookie.send(res, session.id, session.createdAt + options.absoluteTimeoutMs + NOTICE_GRACE_MS);
        session.events.push("lab-cookie-resent");
      }
      return session;
    },

    async change(session, res, mutate, options) {
      if (modes.wholeWriteBack && session.key !== null) {
        // LAB 12 ONLY: what express-session with most stores does — the data as it was loaded when
        // this request began, changed, and written back whole over whatever the row holds now. Two
        // tabs that loaded the same cart each write their own version: the last one wins.
        const stale = mutate(session.data);
        const written = await store.update(session.key, clock.now(), (current) => ({ ...current, data: sealFor(session.id!, session.key!).seal(stale) }));
        if (written) {
          session.data = stale;
          session.events.push("lab-whole-write-back");
          return;
        }
      }
      await honest.change(session, res, mutate, options);
      // LAB 8 ONLY: say so in the X-ray when the new session got a number for an ID.
      const last = session.events.length - 1;
      if (session.events[last] === "created" && SEQUENTIAL_ID.test(session.id!)) session.events[last] = "lab-sequential-id";
    },

    async regenerate(session, res, change) {
      if (!modes.fixation) return honest.regenerate(session, res, change);
      // LAB 5 ONLY: sign in under the same ID (whoever planted it now shares the account).
      await honest.change(session, res, (data) => data);
      const signedIn = await store.update(session.key!, clock.now(), (current) => ({ ...current, userId: change.userId }));
      if (signedIn) session.userId = signedIn.userId;
      session.events.push("lab-kept-id-at-login");
    },

    async destroy(session, res) {
      if (!modes.cookieOnlyLogout) return honest.destroy(session, res);
      // LAB 6 ONLY: the browser forgets the cookie, the server remembers the session. A copy still works.
      signed.clear(res);
      Object.assign(session, emptySession([...session.events, "lab-cookie-only-logout"]));
    },
  };
}
