/**
 * The X-ray as a picture: a sequence diagram of one request, drawn on the server as SVG —
 * browser → shop → session store and back: the Cookie sent, the check of the cookie, the lookup
 * by hash, the record read or written, the Set-Cookie returned, each with its fingerprint.
 *
 * No script and no library: the projector shows it on any page, with JavaScript off too. The
 * text is large (22 px on a 1000-unit-wide drawing) so the back of a room can read it, and the
 * cookie technique draws no store lane, because there is none. Every piece of text is escaped
 * here (the path comes from the visitor), so the view includes the SVG raw, like the chart.
 */
import type { SessionEvent, Technique } from "../session/types.ts";

export interface SequenceInput {
  technique: Technique;
  method: string;
  path: string;
  status: number;
  /** The session cookie as sent, already redacted ("shop_sid=s%3A‹ID 1a2b3c4d›.‹signature›"), or null. */
  cookieSent: string | null;
  /** The events of the session layer, in order. */
  events: readonly SessionEvent[];
  /** Fingerprint of the key the request arrived with, and of the key it left with (they differ after a regenerate). */
  keyBefore: string | null;
  keyAfter: string | null;
  /** The Set-Cookie of the session cookie, redacted and without attributes, or null. */
  cookieSetName: string | null;
  cookieSet: string | null;
  cartLines: number;
}

type Lane = "browser" | "shop" | "store";
type Step = { kind: "arrow"; from: Lane; to: Lane; text: string; sub?: string; back?: boolean } | { kind: "note"; at: Lane; text: string; bad?: boolean };

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The steps of the picture, from the facts of the request. Exported for the unit test. */
export function sequenceSteps(r: SequenceInput): Step[] {
  const server = r.technique !== "cookie";
  const has = (e: SessionEvent) => r.events.includes(e);
  const fp = (f: string | null) => (f ? `‹${f}›` : "‹?›");
  const steps: Step[] = [
    {
      kind: "arrow",
      from: "browser",
      to: "shop",
      text: `${r.method} ${cut(r.path, 40)}`,
      sub: r.cookieSent ? `Cookie: ${cut(r.cookieSent, 46)}` : "no session cookie",
    },
  ];

  if (has("no-cookie")) steps.push({ kind: "note", at: "shop", text: "no cookie → no session yet" });
  else if (has("bad-signature"))
    steps.push({ kind: "note", at: "shop", text: server ? "signature ✗ → fresh session" : "AES-GCM tag ✗ → fresh session", bad: true });
  else if (has("malformed-id")) steps.push({ kind: "note", at: "shop", text: "not an ID we issue → fresh", bad: true });
  else if (r.cookieSent && has("signature-remembered")) steps.push({ kind: "note", at: "shop", text: "signature: ✓ remembered from before" });
  else if (r.cookieSent && !server && has("opened-from-memory")) steps.push({ kind: "note", at: "shop", text: "cookie: ✓ remembered from before" });
  else if (r.cookieSent) steps.push({ kind: "note", at: "shop", text: server ? "HMAC signature ✓" : "AES-GCM tag ✓: opened" });

  const looked = has("loaded") || has("unknown-id") || has("unreadable") || has("expired-idle") || has("expired-absolute") || has("lab-adopted-planted-id");
  if (server && looked) {
    steps.push({ kind: "arrow", from: "shop", to: "store", text: `get(sha256(ID) = ${fp(r.keyBefore)})` });
    if (has("unknown-id")) steps.push({ kind: "arrow", from: "store", to: "shop", text: "null: no such record", back: true });
    else if (has("expired-idle") || has("expired-absolute")) steps.push({ kind: "arrow", from: "store", to: "shop", text: "expired: null", back: true });
    else if (has("unreadable")) {
      steps.push({ kind: "arrow", from: "store", to: "shop", text: "sealed record", back: true });
      steps.push({ kind: "note", at: "shop", text: "open: AES-GCM tag ✗ → fresh", bad: true });
    } else {
      steps.push({ kind: "arrow", from: "store", to: "shop", text: "sealed record", back: true });
      const lines = `${r.cartLines} cart ${r.cartLines === 1 ? "line" : "lines"}`;
      steps.push({ kind: "note", at: "shop", text: has("opened-from-memory") ? `same text as before: ${lines} from memory` : `opened: ${lines}` });
    }
  }
  const write = (text: string) => steps.push(server ? { kind: "arrow", from: "shop", to: "store", text } : { kind: "note", at: "shop", text });
  for (const e of r.events) {
    if (e === "touched") write(server ? `touch(${fp(r.keyAfter)}): last seen` : "touched: re-sealed");
    else if (e === "created" || e === "lab-sequential-id") write(server ? `create(${fp(r.keyAfter)}): new row` : "sealed into a new cookie");
    else if (e === "saved") write(server ? `update(${fp(r.keyAfter)}): atomic` : "re-sealed: whole session");
    else if (e === "regenerated") write(server ? `rekey(${fp(r.keyBefore)} → ${fp(r.keyAfter)})` : "new nonce, same cart");
    else if (e === "destroyed") write(server ? `destroy(${fp(r.keyBefore)})` : "nothing to delete");
    else if (e === "lab-whole-write-back") {
      steps.push({ kind: "note", at: "shop", text: "LAB: stale copy written back", bad: true });
      write(`set(${fp(r.keyAfter)}): whole session`);
    } else if (e === "lab-kept-id-at-login") steps.push({ kind: "note", at: "shop", text: "LAB: signed in, SAME ID", bad: true });
    else if (e === "lab-cookie-only-logout") steps.push({ kind: "note", at: "shop", text: "LAB: record left alive", bad: true });
    else if (e === "too-large") steps.push({ kind: "note", at: "shop", text: "over 4,096 bytes: refused", bad: true });
    else if (e === "ended-meanwhile") steps.push({ kind: "note", at: "shop", text: "ended meanwhile: not written", bad: true });
  }
  steps.push({
    kind: "arrow",
    from: "shop",
    to: "browser",
    back: true,
    text: `${r.status}${r.status === 303 ? " See Other" : r.status === 200 ? " OK" : ""}`,
    sub: r.cookieSet !== null ? `Set-Cookie: ${cut(r.cookieSet, 44)}` : r.cookieSetName ? `Set-Cookie: ${r.cookieSetName}=; (cleared)` : "no Set-Cookie",
  });
  return steps;
}

const W = 1000;
const ROW = 78;
const TOP = 86;

export function renderSequenceDiagram(r: SequenceInput, { title }: { title: string }): string {
  const lanes: Lane[] = r.technique === "cookie" ? ["browser", "shop"] : ["browser", "shop", "store"];
  const names: Record<Lane, string> = {
    browser: "Browser",
    shop: "Shop",
    store: { sqlite: "SQLite", redis: "Redis", postgres: "PostgreSQL", memory: "Memory (Map)", cookie: "", student: "Your store" }[r.technique],
  };
  const x = (lane: Lane) => (lanes.length === 2 ? { browser: 170, shop: 830, store: 0 } : { browser: 130, shop: 500, store: 870 })[lane];
  const steps = sequenceSteps(r);
  const height = TOP + steps.length * ROW + 30;
  const id = `seq-${title.replace(/\W+/g, "-").toLowerCase()}`;
  const out: string[] = [
    `<svg class="sequence" viewBox="0 0 ${W} ${height}" role="img" aria-labelledby="${id}" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="${id}">${xml(`${title}: ${steps.map((s) => (s.kind === "arrow" ? `${names[s.from]} to ${names[s.to]}: ${s.text}${s.sub ? `, ${s.sub}` : ""}` : `${names[s.at]}: ${s.text}`)).join("; ")}`)}</title>`,
    `<defs><marker id="${id}-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="seq-head"/></marker></defs>`,
  ];
  for (const lane of lanes) {
    out.push(`<line x1="${x(lane)}" y1="${TOP - 20}" x2="${x(lane)}" y2="${height - 10}" class="seq-life"/>`);
    out.push(`<rect x="${x(lane) - 110}" y="8" width="220" height="52" rx="8" class="seq-box"/>`);
    out.push(`<text x="${x(lane)}" y="43" class="seq-name">${xml(names[lane])}</text>`);
  }
  steps.forEach((s, i) => {
    const y = TOP + i * ROW + 44;
    if (s.kind === "note") {
      const w = Math.min(460, 24 + s.text.length * 13.5);
      out.push(`<rect x="${x(s.at) - w / 2}" y="${y - 30}" width="${w}" height="40" rx="6" class="seq-note${s.bad ? " seq-bad" : ""}"/>`);
      out.push(`<text x="${x(s.at)}" y="${y - 3}" class="seq-note-text">${xml(s.text)}</text>`);
      return;
    }
    const [x1, x2] = [x(s.from), x(s.to)];
    const mid = (x1 + x2) / 2;
    out.push(
      `<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -4 : 4)}" y2="${y}" class="seq-arrow${s.back ? " seq-back" : ""}" marker-end="url(#${id}-head)"/>`,
    );
    out.push(`<text x="${mid}" y="${y - (s.sub ? 36 : 10)}" class="seq-label">${xml(s.text)}</text>`);
    if (s.sub) out.push(`<text x="${mid}" y="${y - 10}" class="seq-sub">${xml(s.sub)}</text>`);
  });
  out.push("</svg>");
  return out.join("");
}
