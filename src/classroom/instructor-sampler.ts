/**
 * Points for the instructor's chart: one whenever the dashboard is drawn (the page, or its
 * server-sent update every 2 s while it is open), at most one per 2 s however many instructors
 * watch. Nothing runs while nobody watches: no timer samples an idle shop.
 */
import type { Clock } from "../clock.ts";
import type { Classroom } from "./classroom.ts";

const MIN_GAP_MS = 2_000;

export function createChartSampler(classroom: Pick<Classroom, "sample">, realClock: Clock) {
  let last = 0;
  return (counts: { live: number; expired: number }) => {
    if (realClock.now() - last < MIN_GAP_MS) return;
    last = realClock.now();
    classroom.sample(counts);
  };
}
