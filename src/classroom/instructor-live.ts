/**
 * What the live part of the instructor dashboard shows: every session in the store, anonymised
 * (a fingerprint of the key, never the ID), the counts, the chart and the last sweep.
 *
 * Carts are sealed at rest under a key only each shopper's cookie gives (src/session/seal.ts), so
 * the dashboard cannot read them either: a row shows "sealed", except the one session whose cookie
 * this request carries (the instructor's own), which it opens as the shop would.
 */
import type { Clock } from "../clock.ts";
import { fingerprint } from "../session/id.ts";
import { sealFor } from "../session/seal.ts";
import type { ListedSession, ServerStore } from "../session/directory.ts";
import type { SessionData, Technique } from "../session/types.ts";
import { renderHistoryChart } from "./chart.ts";
import type { Classroom } from "./classroom.ts";
import { createChartSampler } from "./instructor-sampler.ts";

const MAX_ROWS = 200;

export interface LiveViewDeps {
  classroom: Classroom;
  store: ServerStore | null;
  technique: Technique;
  realClock: Clock;
  log: { warn(obj: object, msg: string): void };
}

/** The session whose cookie the request carries: the only record here that can be opened. */
export type OwnSession = { id: string | null; key: string | null } | null;

/** The cart of a listed record, if this request may see it: its own (opened), or a plaintext one from before sealing. */
function cartOf(s: ListedSession, own: OwnSession): { cart: SessionData["cart"]; how: "own" | "plaintext" } | null {
  if (!("sealed" in s.data)) return { cart: s.data.cart, how: "plaintext" };
  const opened = own?.id && own.key === s.key ? sealFor(own.id, own.key).open(s.data) : null;
  return opened ? { cart: opened.cart, how: "own" } : null;
}

const rowsOf = (listed: ListedSession[], now: number, own: OwnSession) =>
  listed.map((s) => {
    const seen = cartOf(s, own);
    return {
      key: s.key,
      fingerprint: fingerprint(s.key),
      signedIn: s.userId !== null,
      /** null: sealed, and not this request's own. */
      cartLines: seen ? seen.cart.length : null,
      items: seen ? seen.cart.reduce((n, l) => n + l.quantity, 0) : null,
      cartSeenAs: seen?.how ?? "sealed",
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      expired: s.expiresAt <= now,
    };
  });

export function createLiveView({ classroom, store, technique, realClock, log }: LiveViewDeps) {
  const sample = createChartSampler(classroom, realClock);

  /**
   * A store outage is part of the picture, not a crash: the dashboard says "store unavailable"
   * and the next refresh recovers by itself.
   */
  return async function liveModel(own: OwnSession) {
    const now = classroom.clock.now();
    let stats: Awaited<ReturnType<NonNullable<typeof store>["stats"]>> = { live: 0, expired: 0 };
    let rows: ReturnType<typeof rowsOf> = [];
    let storeError = false;
    if (store) {
      try {
        stats = await store.stats(now);
        rows = rowsOf(await store.listAll(MAX_ROWS), now, own);
        sample(stats);
      } catch (error) {
        storeError = true;
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "instructor dashboard: session store unavailable");
      }
    } else {
      sample(stats);
    }
    return {
      now,
      stats,
      technique,
      storeAvailable: store !== null,
      storeError,
      chart: renderHistoryChart(classroom.history),
      lastSweep: classroom.lastSweep,
      rows,
    };
  };
}

export type LiveModel = Awaited<ReturnType<ReturnType<typeof createLiveView>>>;
