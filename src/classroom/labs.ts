/**
 * The labs: what each one shows, and where the source texts (`../shared/seeds/`, summarised
 * in docs/teaching/) discuss it. Each lab has a page (views/labs/lab-N.ejs), a lesson in
 * docs/teaching/ and a Playwright spec that performs it: e2e/labs/lab-N-*.spec.ts on every technique, or
 * e2e/labs-isolated/lab-N-*.spec.ts for the labs that restart shops, move the clock or switch on vulnerable modes.
 */
export interface Lab {
  number: number;
  title: string;
  summary: string;
  /** Sections of the source texts this lab demonstrates. */
  sources: string[];
  lesson: string;
}

export const labs: readonly Lab[] = [
  {
    number: 1,
    title: "The cookie exchange",
    summary: "No cookie on the first visit; the first add creates the session and its cookie; then watch the cookie travel with every request.",
    sources: ["“Sessions” — introduction (all techniques begin with a cookie)", "“An Introduction to Web Sessions” — Sessions & Cookies"],
    lesson: "lab-1-cookie-exchange.md",
  },
  {
    number: 2,
    title: "Three techniques",
    summary: "The same cart in a cookie, in server memory and in a database: the 4 KB wall, the restart that wipes memory, the file that survives.",
    sources: ["“Sessions” — Cookie Session, In-Memory Cookies, Database Cookies"],
    lesson: "lab-2-three-techniques.md",
  },
  {
    number: 3,
    title: "Tampering",
    summary: "Edit the cookie in DevTools: the signature check fails and you get a fresh, empty session — never someone else's.",
    sources: ["“Sessions” — Cookie Session (cookies can be altered)", "“Session” — Security Best Practices"],
    lesson: "lab-3-tampering.md",
  },
  {
    number: 4,
    title: "Hijacking",
    summary: "Copy the cookie into a second browser: same cart, same account. Why HttpOnly, Secure and short timeouts help.",
    sources: ["“Sessions” — In-Memory Cookies (hijacked by copying the cookie)", "“Session” — Security Best Practices 1, 3, 5"],
    lesson: "lab-4-hijacking.md",
  },
  {
    number: 5,
    title: "Session fixation",
    summary: "A vulnerable mode lets an attacker plant an ID and ride the victim's login; the fixed shop issues a new ID at login and keeps the cart.",
    sources: ["“Session” — Security Best Practices 2 (regenerate session IDs)"],
    lesson: "lab-5-fixation.md",
  },
  {
    number: 6,
    title: "Logout done right and wrong",
    summary:
      "Replay the cookie from before logout: dead with a server-side session destroyed, alive when logout only clears the cookie, alive in cookie mode until it expires.",
    sources: ["“Sessions” — Database Cookies", "“Session” — How Sessions Work (session ends)"],
    lesson: "lab-6-logout.md",
  },
  {
    number: 7,
    title: "Expiry and cleanup",
    summary: "Idle versus absolute timeout with the demo clock; watch expired rows wait for the cleanup job, then disappear.",
    sources: ["“Sessions” — In-Memory Cookies (clean out periodically)", "“Session” — Security Best Practices 3"],
    lesson: "lab-7-expiry-cleanup.md",
  },
  {
    number: 8,
    title: "Predictable IDs",
    summary: "A vulnerable mode hands out sequential IDs: guess a neighbour's number and wear their cart.",
    sources: ["“Sessions” — Database Sessions (why the ID must not be the user's ID)", "“Sessions” — In-Memory Cookies (guessing a valid session id)"],
    lesson: "lab-8-predictable-ids.md",
  },
  {
    number: 10,
    title: "CSRF and SameSite, from a real second site",
    summary:
      "A prize page on another site posts a hidden form to the cart and to sign-out: with the CSRF checks off, SameSite decides — Lax sends no cookie, None lets the attack in; the checks refuse it whatever SameSite says; Strict empties the cart on every inbound link.",
    sources: [
      "“Session” — How Sessions Work, step 2 (“the client sends the session ID cookie with every request”: also the ones another site makes it send)",
      "“An Introduction to Web Sessions” — Sessions & Cookies (cookies are “automatically sent with HTTP requests”)",
      "“Session” — Security Best Practices 1 (the Secure flag: SameSite=None requires it)",
    ],
    lesson: "lab-10-csrf-samesite.md",
  },
  {
    number: 11,
    title: "Cookie attributes, live",
    summary:
      "Toggle HttpOnly, Secure, SameSite, Path, Domain, Max-Age and the __Host- prefix; see the Set-Cookie sent, what the browser sent back, what scripts see, and what a rejected cookie looks like.",
    sources: [
      "“Sessions” — In-Memory Cookies (its `session-id=…; lang=en-US` sets one cookie, not two)",
      "“An Introduction to Web Sessions” — Sessions & Cookies (a session cookie lasts until the browser closes)",
      "“Session” — Security Best Practices 1 (the Secure flag), 3 (expiration times)",
    ],
    lesson: "lab-11-cookie-attributes.md",
  },
  {
    number: 12,
    title: "Two tabs, one session: the lost update",
    summary:
      "Fire eight adds at once: with the naive “load at the start, write it all back at the end” most are acknowledged and lost; with the shop's atomic change every one is in the cart.",
    sources: [
      "“Session” — How Sessions Work (the session is read and saved on every request)",
      "“Sessions” — Database Sessions (the session is a row that concurrent requests share)",
    ],
    lesson: "lab-12-lost-update.md",
  },
  {
    number: 13,
    title: "The cart across sign-in",
    summary:
      "A saved cart and a guest cart meet at sign-in: add them up, keep the larger, newest wins or account wins — the instructor switches the policy, and the shopper reads every clamp to stock and limits.",
    sources: [
      "“Sessions” — introduction (how a shop keeps track of the cart from page to page)",
      "“Session” — Example of Sessions in Action (logging in creates a new session; logging out ends it)",
      "“Sessions” — Database Cookies (a session that persists for a registered user)",
    ],
    lesson: "lab-13-cart-merge.md",
  },
  {
    number: 14,
    title: "The last unit",
    summary:
      "Two shoppers, one unit left, “Place order” at the same moment: with “check the stock, then decrement” both orders go through and the shop sells a unit it does not have; with the shop's one-statement take, exactly one does, and the other is told which line ran out.",
    sources: [
      "“Sessions” — introduction (the cart kept in the session: a cart is a wish, not a reservation)",
      "“Session” — How Sessions Work (each shopper's session is their own; the stock is shared by all of them)",
    ],
    lesson: "lab-14-last-unit.md",
  },
  {
    number: 15,
    title: "What a stolen database gives away",
    summary:
      "The sessions table as a thief with a copy of the database file sees it: hashed keys that are no cookie, carts sealed under keys only the cookies give; beside it, this browser's own record opened with its cookie.",
    sources: [
      "“Session” — Security Best Practices 4 (store sessions securely: encrypted storage; Redis alone is not encryption)",
      "“Sessions” — Database Sessions (the session is a row in a table: whoever has the file has the rows)",
      "“Sessions” — In-Memory Cookies (“the cookie should be encrypted”: here the data at rest is)",
    ],
    lesson: "lab-15-stolen-database.md",
  },
];
