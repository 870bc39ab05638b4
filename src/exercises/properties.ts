/**
 * The store contract's tests (src/test/store-contract.ts), one by one, in the words a student needs:
 * what the property is, what the test did to the store (the requests, the race), what a shopper
 * would notice if it failed, and where the lesson explains it. Keyed by the test's own name, so the
 * grader reads the suite's results and never re-implements a check: properties.test.ts fails when
 * the contract gains a test that has no words here.
 */

/** What a failed contract test left behind: the assertion's own message and values, or what the store threw. */
export interface Failure {
  message: string;
  actual?: unknown;
  expected?: unknown;
  /** True when the store itself threw (a TODO, a crash), false when an assertion of the suite failed. */
  threw: boolean;
}

export interface Property {
  /** Short, for the summary line. */
  readonly short: string;
  /** Said when it holds: what has been proven. */
  readonly proven: string;
  /** What the test does to the store, in requests. */
  readonly scenario: string;
  /** Said when it fails: what a shopper would notice. */
  readonly inTheShop: string;
  /** Where the lesson explains it. */
  readonly lesson: string;
  /** The failure, told from the assertion's values, when the generic words are not enough. */
  readonly told?: (f: Failure) => string | undefined;
}

const HOW = "docs/how-sessions-work.md";
const list = (v: unknown) => (Array.isArray(v) ? v.join(", ") : String(v));

export const contractProperties: Readonly<Record<string, Property>> = {
  "returns null for an unknown key": {
    short: "unknown key",
    proven: "an unknown key gives null, not an error and not someone's session",
    scenario: "a request arrived with a cookie whose key the store has never seen (a forged or very old cookie)",
    inTheShop: "a visitor with a stale cookie would get an error page, or a session that is not theirs, instead of a fresh empty cart",
    lesson: `${HOW}#3-browsing-with-a-session-load-and-the-occasional-touch`,
  },
  "returns what was created, as a copy or frozen: changing a loaded record changes nothing stored": {
    short: "copies, not the stored object",
    proven: "what get returns is a copy (or frozen): changing it in a request changes nothing stored",
    scenario: "a request loaded a session and pushed a line onto the cart it got back, without calling update",
    inTheShop:
      "a request could change the stored cart without update: no atomic step, no expiry check, a change that bypasses the lifecycle (and, in memory, one request's half-finished change seen by another)",
    lesson: `${HOW}#4-two-tabs-at-once-why-change-not-save`,
    told: (f) =>
      f.threw
        ? undefined
        : "After the request changed the object it had loaded, the store's own copy had changed too: get handed out the stored object itself.",
  },
  "refuses to create the same key twice": {
    short: "create refuses a taken key",
    proven: "create refuses a key that already exists",
    scenario: "create was called twice with the same key",
    inTheShop: "a key collision (which, with 32 random bytes, means a bug) would silently overwrite another visitor's session",
    lesson: `${HOW}#2-first-add-to-cart-the-session-is-born`,
    told: (f) => (f.threw ? undefined : "The second create succeeded: it overwrote the first session instead of throwing."),
  },
  "returns null once the session has expired": {
    short: "expiry",
    proven: "a session is dead from its expiresAt on: get returns null at that instant, even before any sweep",
    scenario: "a session created to expire at T+1000 ms was read at T+999 ms (alive) and at T+1000 ms (dead)",
    inTheShop: "a shopper who walked away from a shared computer would still be signed in after the timeout",
    lesson: `${HOW}#3-browsing-with-a-session-load-and-the-occasional-touch`,
    told: (f) =>
      f.threw
        ? undefined
        : f.actual === null || f.actual === undefined
          ? "At T+999 ms, 1 ms before it expired, get already returned null: the session died too early."
          : "At T+1000 ms, its expiresAt, get still returned the session: an expired session must be gone on read, whether or not the sweeper has run.",
  },
  "updates atomically from the freshest copy": {
    short: "no lost update",
    proven: "two changes at once both land: update changes the freshest copy, so no add to cart is lost",
    scenario: "three adds to one cart at once (products 2, 3 and 4, each its own request) on a cart holding product 1",
    inTheShop: "a shopper who clicks “Add” in two tabs at once loses one of the items (lab 12)",
    lesson: "docs/teaching/lab-12-lost-update.md",
    told: (f) => {
      if (f.threw || !Array.isArray(f.actual)) return undefined;
      const lost = 4 - f.actual.length;
      return `The cart ended with products ${list(f.actual)}: ${lost} of the 3 adds ${lost === 1 ? "was" : "were"} lost — a request read the cart before another had written it, then wrote its old copy back over it.`;
    },
  },
  "never re-creates a destroyed or expired session on update": {
    short: "no resurrection",
    proven: "update on a destroyed or expired session returns null and writes nothing: a request racing a logout cannot bring the session back",
    scenario: "a session was destroyed (sign-out), then a slow request of the same session called update; and an expired session got an update",
    inTheShop: "a slow “add to cart” finishing after “Sign out” would bring the signed-out session back to life, signed in, on that browser",
    lesson: `${HOW}#6-signing-out-destroyed-not-just-forgotten`,
    told: (f) => {
      if (f.threw) return undefined;
      // The test's expired record lives 10 ms from creation. Still carrying exactly that lifetime, it
      // was not rewritten by update: get served it although it had expired.
      const r = f.actual as { expiresAt?: number; createdAt?: number } | null;
      if (r && typeof r.expiresAt === "number" && typeof r.createdAt === "number" && r.expiresAt - r.createdAt === 10)
        return "update left the expired session alone, but get then returned it anyway: get must treat a session past its expiresAt as gone (see expiry).";
      return "update on a session that was already gone (signed out, or expired) did not return null: it wrote the record back — the signed-out session lived again.";
    },
  },
  "writes nothing when the change function throws": {
    short: "all or nothing",
    proven: "when the change throws, nothing is written",
    scenario: "update was called with a change that throws half-way (as a route does when the product is out of stock)",
    inTheShop: "a refused change (out of stock, cart too large) would still leave a half-written session behind",
    lesson: `${HOW}#4-two-tabs-at-once-why-change-not-save`,
    told: (f) => (f.threw && !/refused/.test(f.message) ? undefined : "After the change threw, the stored session was no longer what it had been."),
  },
  "rekeys atomically: the data moves, the old key is dead": {
    short: "rekey at sign-in",
    proven: "rekey moves the session to a new key in one step, the old key dead at once (sign-in against fixation)",
    scenario: "sign-in moved a session from its old key to a new one, then tried to use the old key again",
    inTheShop: "an attacker who planted the old session ID before sign-in could still use it afterwards (session fixation, lab 5)",
    lesson: `${HOW}#5-signing-in-a-new-id-the-same-cart`,
    told: (f) => (f.threw ? undefined : f.message.split("\n")[0]),
  },
  "touches only existing sessions, and never backwards": {
    short: "touch",
    proven: "touch moves lastSeenAt and expiresAt forward only, and only on a session that exists",
    scenario:
      "two requests of one session touched it out of order: the later touch (T+500) arrived first, the earlier one (T+100) after; then a touch on an unknown key",
    inTheShop: "a slow request finishing last would pull the expiry back, and the shopper would be signed out early; or a touch would create an empty session",
    lesson: `${HOW}#3-browsing-with-a-session-load-and-the-occasional-touch`,
    told: (f) => (f.threw ? undefined : f.message.split("\n")[0]),
  },
  "destroys one session; destroying an unknown key is fine": {
    short: "destroy",
    proven: "destroy removes exactly one session, and destroying an unknown key is not an error",
    scenario: "two sessions were stored, one destroyed (sign-out), then a key nobody has was destroyed",
    inTheShop: "signing out would fail on an already-ended session, or end the wrong one",
    lesson: `${HOW}#6-signing-out-destroyed-not-just-forgotten`,
  },
  "deletes exactly the expired sessions, in batches of at most the limit": {
    short: "the sweeper",
    proven: "deleteExpired removes the expired sessions in batches of at most the limit, and never a live one",
    scenario: "2 live and 25 expired sessions, swept with a limit of 10: the batches must remove 10, 10, 5, then 0",
    inTheShop:
      "without a bounded sweep, expired sessions pile up for ever (or one giant sweep stalls every request); a sweep that takes live sessions signs shoppers out",
    lesson: `${HOW}#7-cleaning-up`,
    told: (f) =>
      f.threw || typeof f.actual !== "number"
        ? f.threw
          ? undefined
          : "A live session was swept: only sessions whose expiresAt is at or before now may go."
        : `One sweep removed ${f.actual} sessions where ${String(f.expected)} were due: ${f.actual > Number(f.expected) ? "it ignored the limit" : "it left expired sessions behind (or stopped early)"}.`,
  },
  "lists a user's live sessions, most recent first, and nobody else's": {
    short: "listing a user's sessions",
    proven: "a user's live sessions are listed, most recently seen first, and nobody else's",
    scenario: "user 1 had two live sessions and one expired, user 2 one session; “your active sessions” for user 1 was asked for",
    inTheShop: "the account page would show another user's devices, or a session that has already expired",
    lesson: `${HOW}#your-cart-and-your-account`,
  },
  "ends one, or all but one, of a user's sessions, never another user's": {
    short: "signing out other devices",
    proven: "“sign out that device” and “sign out everywhere else” end only the user's own sessions",
    scenario: "user 1 asked to end a session key that belongs to user 2, then one of their own, then all but their current one",
    inTheShop: "a user could sign someone else out by sending their session's key",
    lesson: `${HOW}#your-cart-and-your-account`,
  },
  "peeks at an expired record that is still stored, without making it live again": {
    short: "peek",
    proven: "peek shows an expired record that is still stored (to explain why a session ended) without making it live",
    scenario: "a session expired at T+1000 was read at T+5000 with get (must be null) and with peek (must show it)",
    inTheShop: "the shop could not tell a shopper “your session timed out” — or, worse, get would hand the expired session back",
    lesson: `${HOW}#when-a-session-ends-the-shop-says-so`,
    told: (f) => {
      if (f.threw) return undefined;
      if (f.message.startsWith("expired: not returned by get"))
        return "At T+5000, 4 s after the session expired, get still returned it: get must treat a session past its expiresAt as gone (see expiry).";
      if (f.message.startsWith("but peek explains why")) return "peek found nothing for an expired record that was still stored.";
      if (f.message.startsWith("peeking adopted nothing")) return "After peek, get returned the expired session: peeking made it live again.";
      return f.message.split("\n")[0];
    },
  },
  "lists every stored record for the instructor, most recent first, and counts live and expired": {
    short: "instructor's listing and counts",
    proven: "the instructor's dashboard lists every stored record, most recent first, and counts live and expired ones",
    scenario: "three sessions (one expired) were stored; the dashboard listed them and counted them",
    inTheShop: "the instructor dashboard would show the wrong sessions or wrong counts",
    lesson: "docs/teaching/README.md",
  },
};
