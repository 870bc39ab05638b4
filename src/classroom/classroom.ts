/**
 * The classroom's state for one shop process: the demo clock, the lab modes, and a short
 * history of session counts and cleanup removals for the instructor's chart.
 *
 * All of it lives in memory on purpose: restarting the server returns to real time and to the
 * safe modes. The vulnerable modes can only be switched on when the config allows it
 * (CLASSROOM_VULNERABLE_LABS, refused in production).
 */
import type { Clock } from "../clock.ts";
import { createSessionStorage, type SessionStorageOptions } from "../session/storage.ts";
import type { SessionStorage } from "../session/types.ts";
import type { MergePolicy } from "../accounts/merge.ts";
import type { RequestHandler } from "express";
import { withLabCsrf } from "./lab-10-csrf.ts";
import type { Sql } from "../db/sql.ts";
import { conditionalStock, type StockKeeping } from "../orders/orders.ts";
import { labStock } from "./last-unit.ts";
import { createVulnerableStorage, type LabModes } from "./vulnerable-storage.ts";

export type LabModeName = keyof LabModes;

export const labModeLabels: Record<LabModeName, string> = {
  fixation: "Session fixation: accept planted IDs, keep the ID at login",
  cookieOnlyLogout: "Logout clears the cookie only: the server-side session stays alive",
  sequentialIds: "Predictable IDs: a counter in an unsigned cookie",
  wholeWriteBack: "Lost updates: each request writes back the whole session it loaded",
  csrfChecksOff: "CSRF checks off: the shop accepts forms posted from other sites",
  sameSiteNone: "Session cookie SameSite=None; Secure: sent with requests from other sites",
  sameSiteStrict: "Session cookie SameSite=Strict: not sent when a link from another site is followed",
  checkThenDecrement: "The last unit: checkout checks the stock, waits, then decrements without a condition",
};

/** Lab 10's two cookie settings exclude each other: switching one on switches the other off. */
const exclusive: Partial<Record<LabModeName, LabModeName>> = { sameSiteNone: "sameSiteStrict", sameSiteStrict: "sameSiteNone" };

export interface HistoryPoint {
  at: number;
  live: number;
  expired: number;
  removed: number;
}

export function createClassroom({ realClock, vulnerableLabsAllowed }: { realClock: Clock; vulnerableLabsAllowed: boolean }) {
  let offsetMs = 0;
  const labModes: LabModes = {
    fixation: false,
    cookieOnlyLogout: false,
    sequentialIds: false,
    wholeWriteBack: false,
    csrfChecksOff: false,
    sameSiteNone: false,
    sameSiteStrict: false,
    checkThenDecrement: false,
  };
  const history: HistoryPoint[] = [];
  let removedSinceSample = 0;
  let lastSweep: { at: number; removed: number } | null = null;
  // How a saved cart and a guest cart are merged at sign-in; lessons switch it (src/accounts/merge.ts).
  let cartMergePolicy: MergePolicy = "sum";

  // Open server-sent event streams: ended at shutdown, or server.close() would wait for them forever.
  const streams = new Set<() => void>();

  /** Every part of the shop reads time from here, so a fast-forward moves expiry and cleanup together. */
  const clock: Clock = { now: () => realClock.now() + offsetMs };

  return {
    clock,
    labModes,
    vulnerableLabsAllowed,
    /**
     * Builds the session storage over a store: the honest one, or, only when vulnerable labs are
     * allowed, the lab wrapper around it (still honest while every switch is off).
     */
    createStorage: (options: SessionStorageOptions): SessionStorage =>
      vulnerableLabsAllowed ? createVulnerableStorage(options, labModes) : createSessionStorage(options),
    /** The shop's CSRF protection: as it is, or, only when vulnerable labs are allowed, with lab 10's switch around it. */
    csrfProtection: (csrf: { protect: RequestHandler; tokenFor(subject: string): string }): RequestHandler =>
      vulnerableLabsAllowed ? withLabCsrf(csrf, labModes) : csrf.protect,
    /** How checkout takes stock: the shop's one-statement way, or, only when vulnerable labs are allowed, lab 14's wrapper (honest while its switch is off). */
    createStockKeeping: (db: Sql): StockKeeping => (vulnerableLabsAllowed ? labStock(db, labModes) : conditionalStock()),
    get cartMergePolicy() {
      return cartMergePolicy;
    },
    setCartMergePolicy(policy: MergePolicy) {
      cartMergePolicy = policy;
    },
    get offsetMs() {
      return offsetMs;
    },
    fastForward(minutes: number) {
      offsetMs += minutes * 60_000;
    },
    backToRealTime() {
      offsetMs = 0;
    },
    setLabMode(name: LabModeName, on: boolean) {
      if (on && !vulnerableLabsAllowed) throw new Error("vulnerable labs are not enabled (CLASSROOM_VULNERABLE_LABS)");
      labModes[name] = on;
      const other = exclusive[name];
      if (on && other) labModes[other] = false;
    },
    recordSweep(removed: number) {
      removedSinceSample += removed;
      lastSweep = { at: clock.now(), removed };
    },
    get lastSweep() {
      return lastSweep;
    },
    /** One point per call (every few seconds); the chart shows the last 120. */
    sample(counts: { live: number; expired: number }) {
      history.push({ at: realClock.now(), ...counts, removed: removedSinceSample });
      removedSinceSample = 0;
      if (history.length > 120) history.shift();
    },
    history: history as readonly HistoryPoint[],
    /** Register a long-lived response; returns the function that forgets it. */
    trackStream(end: () => void) {
      streams.add(end);
      return () => streams.delete(end);
    },
    /** Graceful shutdown: end the instructor's live streams (the browser reconnects to the next server). */
    endStreams() {
      for (const end of streams) end();
      streams.clear();
    },
  };
}

export type Classroom = ReturnType<typeof createClassroom>;
