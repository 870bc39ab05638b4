/**
 * The one source of "now" (epoch ms). Injected everywhere time matters, so tests and the
 * classroom can move time forward instead of sleeping.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that starts at real time and moves only when told: for tests. */
export function createManualClock(start = Date.now()) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
