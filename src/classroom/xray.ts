/**
 * The Session X-ray: what the session layer did for this request, shown under the page.
 *
 * It is a per-browser switch (a harmless `shop_xray=1` cookie), available when CLASSROOM is on,
 * and it only ever shows the visitor's *own* session. Still, the raw session ID is never printed:
 * it is a bearer token, and a page is easy to leak (a projector, a screenshot, the browser's
 * cache, an XSS bug). We show its fingerprint — the first 8 hex digits of sha256(ID), which is
 * also how the sessions table names the row — so the class can match cookie and row without
 * seeing anything that could be pasted into a cookie.
 *
 * Most interesting moments (created, regenerated, destroyed) happen on a POST that answers
 * with a redirect, so a POST's summary rides along in a short-lived cookie and the next page
 * shows it as "the request before".
 */
import type { Request, RequestHandler, Response } from "express";
import onHeaders from "on-headers";
import { fingerprint, hashSessionId } from "../session/id.ts";
import type { Session, SessionEvent, Technique } from "../session/types.ts";
import { renderSequenceDiagram, type SequenceInput } from "./sequence-diagram.ts";
import { cookieAttributes } from "../session/cookie.ts";

export const XRAY_COOKIE = "shop_xray";
const LAST_COOKIE = "shop_xray_last";

export interface XraySettings {
  technique: Technique;
  cookieName: string;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
  instanceName: string;
}

const minutes = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

/** The events in words, for this technique and these settings. */
export function describeEvent(event: SessionEvent, s: XraySettings): string {
  const cookieTechnique = s.technique === "cookie";
  switch (event) {
    case "no-cookie":
      return "No cookie → no session yet. Nothing is stored until there is something to keep (add something to the cart).";
    case "bad-signature":
      return cookieTechnique
        ? "Rejected: the sealed cookie failed authentication (AES-GCM tag). It was changed, or sealed with another secret. A fresh session was started."
        : "Rejected: bad signature. The cookie was changed, or signed with a secret this server doesn't have. A fresh session was started.";
    case "malformed-id":
      return "Rejected: correctly signed, but not a session ID this shop makes. A fresh session was started.";
    case "unreadable":
      return "Rejected: the record under this ID's hash did not open with the key this ID gives (AES-GCM tag): it was changed in the store, or copied there from another row. A fresh session was started.";
    case "unknown-id":
      return "Unknown ID: no such session (signed out, revoked, or swept by the cleanup job). A fresh session was started; the old ID is never reused.";
    case "expired-idle":
      return `Expired: idle. No request for ${minutes(s.idleTimeoutMs)}, so the session ended${cookieTechnique ? "" : " and its record was deleted"}.`;
    case "expired-absolute":
      return `Expired: absolute. The session is older than ${minutes(s.absoluteTimeoutMs)}, however active it was, so it ended.`;
    case "loaded":
      return cookieTechnique ? "Loaded: the cookie was opened and checked; the server stored nothing." : "Loaded: the ID's hash found a live record.";
    case "signature-remembered":
      return "Signature: checked at an earlier request and remembered. This exact cookie value was verified before, so this process looked it up instead of computing the HMAC again.";
    case "opened-from-memory":
      return cookieTechnique
        ? "Opened from memory: this exact cookie was decrypted and authenticated at an earlier request; this process remembered what it held."
        : "Record opened from this process's memory: the sealed text the store returned is exactly the one opened or written before, so it was not decrypted again (still current: the store was asked).";
    case "touched":
      return `Touched (throttled): last seen moved forward, and the expiry with it. At most one such write per ${minutes(s.touchIntervalMs)}; other page views write nothing.`;
    case "created":
      return cookieTechnique
        ? "Created: the first thing to keep, sealed into a brand-new cookie (Set-Cookie below)."
        : "Created: the first thing to keep → a new random ID, a new record under its hash, and a Set-Cookie carrying the signed ID.";
    case "saved":
      return cookieTechnique
        ? "Saved: the whole session re-sealed into a new cookie value (Set-Cookie below)."
        : "Saved: one atomic update of the freshest record (no lost updates from other tabs).";
    case "regenerated":
      return cookieTechnique
        ? "Regenerated at login: a new sealed cookie with a new nonce; the cart kept."
        : "Regenerated at login: old ID deleted, a new ID issued, cart kept. A planted or stolen pre-login ID is now worthless.";
    case "destroyed":
      return cookieTechnique
        ? "Destroyed at logout: the cookie was cleared in this browser. A copy made earlier still works until it expires: there is nothing on the server to delete."
        : "Destroyed at logout: record deleted and cookie cleared. A copy of the old cookie is dead everywhere.";
    case "ended-meanwhile":
      return "Refused: the session ended while this request was on its way (signed out in another tab). Nothing was written.";
    case "too-large":
      return "Refused: the new cookie would be over 4,096 bytes, which browsers drop. Nothing was changed.";
    case "rotated-secret":
      return "Re-sealed: this cookie was sealed with an older secret; it now uses the current one (secret rotation).";
    case "lab-adopted-planted-id":
      return "LAB (vulnerable): adopted an ID this server never issued — a planted ID (session fixation).";
    case "lab-kept-id-at-login":
      return "LAB (vulnerable): signed in WITHOUT changing the ID. Whoever else knows this ID is now signed in too.";
    case "lab-cookie-only-logout":
      return "LAB (vulnerable): logout cleared the cookie only. The record is still on the server; a copied cookie still works.";
    case "lab-whole-write-back":
      return "LAB (vulnerable): saved by writing back the whole session as it was loaded when this request began. Whatever another tab saved meanwhile is overwritten.";
    case "lab-cookie-resent":
      return "LAB: the session cookie was sent again with the SameSite the instructor chose (the same ID, new attributes).";
    case "lab-csrf-unchecked":
      return "LAB (vulnerable): CSRF checks skipped — this form was accepted without asking where it came from or for its token.";
    case "lab-sequential-id":
      return "LAB (vulnerable): created with a sequential ID in an unsigned cookie. The next visitor gets this number plus one.";
  }
}

/**
 * The Cookie / Set-Cookie text with every value that is a credential replaced: our session
 * value by a description of its parts, the instructor's pass entirely; long values shortened.
 */
function redact(header: string, s: XraySettings): string {
  return header.replace(/(^|;\s*)([^=;\s]+)=([^;]*)/g, (match, lead: string, name: string, value: string) => {
    if (value === "") return match;
    if (name === s.cookieName) return `${lead}${name}=${describeValue(value, s).short}`;
    if (name.endsWith("shop_instructor")) return `${lead}${name}=‹instructor pass, hidden›`;
    if (/^(expires|max-age|path|domain|samesite)$/i.test(name)) return match;
    return value.length > 24 ? `${lead}${name}=${value.slice(0, 12)}…(${value.length} chars)` : match;
  });
}

interface CookieParts {
  short: string;
  parts: { label: string; value: string }[];
}

function describeValue(rawValue: string, s: XraySettings): CookieParts {
  let value = rawValue;
  try {
    value = decodeURIComponent(rawValue);
  } catch {
    // keep it raw
  }
  if (s.technique === "cookie") {
    const bytes = Buffer.byteLength(rawValue);
    return {
      short: `‹sealed blob, ${bytes} bytes›`,
      parts: [
        { label: "Encrypted blob", value: `${bytes} bytes of base64url: 12-byte IV | AES-256-GCM ciphertext | 16-byte tag` },
        { label: "Why no ID?", value: "The whole session is inside; the server keeps nothing. The blob itself is the bearer token: never shown." },
      ],
    };
  }
  if (/^\d{1,12}$/.test(value)) {
    return {
      short: value,
      parts: [
        {
          label: "Sequential ID (LAB, unsigned)",
          value: `${value} — printed because it is no secret: the neighbours are ${Number(value) - 1} and ${Number(value) + 1}`,
        },
      ],
    };
  }
  const dot = value.lastIndexOf(".");
  if (value.startsWith("s:") && dot > 2) {
    const id = value.slice(2, dot);
    const signature = value.slice(dot + 1);
    return {
      short: `s%3A‹ID ${fingerprint(hashSessionId(id))}›.‹signature›`,
      parts: [
        { label: "Prefix", value: "s: — cookie-parser's mark for a signed value" },
        { label: "ID (fingerprint)", value: `${fingerprint(hashSessionId(id))} — first 8 hex digits of sha256(ID); the ID itself is never printed` },
        { label: "Signature", value: `${signature.slice(0, 6)}… — HMAC-SHA256(secret, ID), ${signature.length} characters` },
      ],
    };
  }
  return { short: "‹unrecognised value›", parts: [{ label: "Value", value: `${value.length} characters that are not a signed ID` }] };
}

export interface XrayRequestSummary {
  method: string;
  path: string;
  status: number;
  events: string[];
  setCookies: string[];
  /** What the sequence diagram of that request needs (sequence-diagram.ts). */
  sequence?: SequenceInput;
}

export interface XrayModel {
  technique: Technique;
  instanceName: string;
  cookieHeader: string | null;
  setCookies: string[];
  cookie: { present: boolean; valid: boolean | null; parts: CookieParts["parts"] };
  record: {
    keyLabel: string;
    key: string | null;
    userId: number | null;
    createdAt: number;
    lastSeenAt: number;
    expiresAt: number;
    idleDeadline: number;
    absoluteDeadline: number;
    json: string;
    bytes: number;
  } | null;
  events: string[];
  previous: XrayRequestSummary | null;
  /** SVG, escaped in sequence-diagram.ts: this request, and the one before when there was one. */
  diagram: string;
  previousDiagram: string | null;
  now: number;
}

function setCookieLines(res: Response): string[] {
  const header = res.getHeader("set-cookie");
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
  return lines.filter((l) => !l.startsWith(`${LAST_COOKIE}=`));
}

/** The facts of one request for its sequence diagram: cookie sent and set (redacted), events, key fingerprints. */
function sequenceInput(req: Request, res: Response, s: XraySettings): SequenceInput {
  const session: Session = req.session;
  const raw = (req.get("cookie") ?? "")
    .split(";")
    .map((p) => p.trim())
    .find((p) => p.startsWith(`${s.cookieName}=`))
    ?.slice(s.cookieName.length + 1);
  let idBefore: string | null = null;
  try {
    const value = raw === undefined ? "" : decodeURIComponent(raw);
    if (value.startsWith("s:") && value.lastIndexOf(".") > 2) idBefore = value.slice(2, value.lastIndexOf("."));
    else if (/^\d{1,12}$/.test(value)) idBefore = value;
  } catch {
    idBefore = null;
  }
  const set = setCookieLines(res).find((l) => l.startsWith(`${s.cookieName}=`));
  const setPair = set?.split(";")[0] ?? null;
  return {
    technique: s.technique,
    method: req.method,
    path: req.path.slice(0, 100),
    status: res.statusCode,
    cookieSent: raw === undefined ? null : redact(`${s.cookieName}=${raw}`, s),
    events: [...(session?.events ?? [])],
    keyBefore: s.technique === "cookie" || idBefore === null ? null : fingerprint(hashSessionId(idBefore)),
    keyAfter: s.technique === "cookie" || !session?.key ? null : fingerprint(session.key),
    cookieSetName: set === undefined ? null : s.cookieName,
    cookieSet: setPair === null || setPair === `${s.cookieName}=` ? null : redact(setPair, s),
    cartLines: session?.data.cart.length ?? 0,
  };
}

/** The request before comes back from a cookie the browser could have changed: draw it only if it still has the right shape. */
function previousPicture(input: unknown, s: XraySettings): string | null {
  const i = input as Partial<Record<keyof SequenceInput, unknown>> | undefined;
  if (!i || typeof i !== "object" || !Array.isArray(i.events) || !i.events.every((e) => typeof e === "string")) return null;
  const text = (v: unknown) => (typeof v === "string" ? v.slice(0, 200) : null);
  return renderSequenceDiagram(
    {
      technique: s.technique,
      method: text(i.method) ?? "POST",
      path: text(i.path) ?? "/",
      status: typeof i.status === "number" ? i.status : 0,
      cookieSent: text(i.cookieSent),
      events: i.events as SessionEvent[],
      keyBefore: text(i.keyBefore),
      keyAfter: text(i.keyAfter),
      cookieSetName: text(i.cookieSetName),
      cookieSet: text(i.cookieSet),
      cartLines: typeof i.cartLines === "number" ? i.cartLines : 0,
    },
    { title: "The request before" },
  );
}

export function createXray(settings: XraySettings & { enabled: boolean; secure: boolean }) {
  const attributes = cookieAttributes(settings.secure);
  const isOn = (req: Request) => settings.enabled && req.cookies?.[XRAY_COOKIE] === "1";

  /** Build the panel for this request, at render time (the Set-Cookie headers are known by then). */
  const model = (req: Request, res: Response, now: number): XrayModel => {
    const session: Session = req.session;
    const cookieHeader = req.get("cookie") ?? null;
    const sessionCookieRaw = (cookieHeader ?? "")
      .split(";")
      .map((p) => p.trim())
      .find((p) => p.startsWith(`${settings.cookieName}=`))
      ?.slice(settings.cookieName.length + 1);
    const signed: unknown = req.signedCookies?.[settings.cookieName];
    let previous: XrayRequestSummary | null = null;
    try {
      const last: unknown = req.cookies?.[LAST_COOKIE];
      if (typeof last === "string") previous = JSON.parse(Buffer.from(last, "base64url").toString("utf8")) as XrayRequestSummary;
    } catch {
      previous = null;
    }
    const json = JSON.stringify(session.data);
    const previousSequence = previous?.sequence;
    return {
      technique: settings.technique,
      instanceName: settings.instanceName,
      cookieHeader: cookieHeader === null ? null : redact(cookieHeader, settings),
      setCookies: setCookieLines(res).map((l) => redact(l, settings)),
      cookie: {
        present: sessionCookieRaw !== undefined,
        valid:
          sessionCookieRaw === undefined
            ? null
            : settings.technique === "cookie"
              ? !session.events.includes("bad-signature")
              : typeof signed === "string" || (signed === undefined && /^\d{1,12}$/.test(sessionCookieRaw)),
        parts: sessionCookieRaw === undefined ? [] : describeValue(sessionCookieRaw, settings).parts,
      },
      record:
        session.createdAt === null
          ? null
          : {
              keyLabel:
                settings.technique === "cookie"
                  ? "No key: nothing is stored on the server"
                  : settings.technique === "memory"
                    ? "Map key = sha256(ID)"
                    : settings.technique === "student"
                      ? "Your store's key = sha256(ID)"
                      : "Primary key id_hash = sha256(ID)",
              key: settings.technique === "cookie" ? null : session.key,
              userId: session.userId,
              createdAt: session.createdAt,
              lastSeenAt: session.lastSeenAt!,
              expiresAt: session.expiresAt!,
              idleDeadline: session.lastSeenAt! + settings.idleTimeoutMs,
              absoluteDeadline: session.createdAt + settings.absoluteTimeoutMs,
              json,
              bytes: Buffer.byteLength(json),
            },
      events: session.events.map((e) => describeEvent(e, settings)),
      previous,
      diagram: renderSequenceDiagram(sequenceInput(req, res, settings), { title: "This request" }),
      previousDiagram: previousPicture(previousSequence, settings),
      now,
    };
  };

  /** For POSTs with the X-ray on: remember what happened, for the page after the redirect. */
  const remember: RequestHandler = (req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD" || !isOn(req)) return next();
    // Just before the headers go out: the status and the Set-Cookie lines are final by then.
    onHeaders(res, () => {
      const summary: XrayRequestSummary = {
        method: req.method,
        path: req.path.slice(0, 100),
        status: res.statusCode,
        events: (req.session?.events ?? []).map((e) => describeEvent(e, settings)),
        setCookies: setCookieLines(res).map((l) => redact(l, settings)),
        sequence: sequenceInput(req, res, settings),
      };
      res.cookie(LAST_COOKIE, Buffer.from(JSON.stringify(summary)).toString("base64url"), { ...attributes, maxAge: 60_000 });
    });
    next();
  };

  /** GET pages show the previous POST once; then it is gone. */
  const forget = (req: Request, res: Response) => {
    if (req.cookies?.[LAST_COOKIE] !== undefined) res.clearCookie(LAST_COOKIE, attributes);
  };

  const toggle = (res: Response, on: boolean) => {
    if (on) res.cookie(XRAY_COOKIE, "1", { ...attributes, maxAge: 24 * 3600_000 });
    else res.clearCookie(XRAY_COOKIE, attributes);
  };

  return { isOn, model, remember, forget, toggle };
}
