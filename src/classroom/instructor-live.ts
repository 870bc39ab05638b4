/**
 * What the live part of the instructor dashboard shows: every session in the store, anonymised
 * (a fingerprint of the key, never the ID), the counts, the chart and the last sweep.
 */
import type { Clock } from "../clock.ts";
import { fingerprint } from "../session/id.ts";
import type { ListedSession, ServerStore } from "../session/directory.ts";
import type { Technique } from "../session/types.ts";
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

const rowsOf = (listed: ListedSession[], now: number) =>
  listed.map((s) => ({
    key: s.key,
    fingerprint: fingerprint(s.key),
    signedIn: s.userId !== null,
    cartLines: s.data.cart.length,
    items: s.data.cart.reduce((n, l) => n + l.quantity, 0),
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    expired: s.expiresAt <= now,
  }));

export function createLiveView({ classroom, store, technique, realClock, log }: LiveViewDeps) {
  const sample = createChartSampler(classroom, realClock);

  /**
   * A store outage is part of the picture, not a crash: the dashboard says "store unavailable"
   * and the next refresh recovers by itself.
   */
  return async function liveModel() {
    const now = classroom.clock.now();
    let stats = { live: 0, expired: 0 };
    let rows: ReturnType<typeof rowsOf> = [];
    let storeError = false;
    if (store) {
      try {
        stats = await store.stats(now);
        rows = rowsOf(await store.listAll(MAX_ROWS), now);
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
