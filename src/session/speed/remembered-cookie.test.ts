/**
 * remembered-cookie.ts must give exactly cookie-parser's outcomes for the session cookie: the same
 * value for the same header, the same "bad signature" for the same hostile input. Compared here
 * with cookie-parser itself (the real middleware, on a real request object), not with a copy.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import cookieParser from "cookie-parser";
import { sign } from "cookie-signature";
import type { Request, Response } from "express";
import { SECRET_A, SECRET_B } from "../../test/harness.ts";
import { createCookieVerifier, readCookie } from "./remembered-cookie.ts";

const NAME = "shop_sid";
const ID = "A".repeat(20) + "b_-".repeat(7) + "Z".repeat(2);
const enc = (v: string) => encodeURIComponent(v);

/** What the old cookie.ts returned, through cookie-parser: string | false | undefined. */
function viaCookieParser(header: string | undefined, secrets: string[]): unknown {
  const req = { headers: header === undefined ? {} : { cookie: header } } as unknown as Request;
  cookieParser(secrets)(req, {} as Response, () => {});
  const signed: unknown = req.signedCookies?.[NAME];
  if (typeof signed === "string" || signed === false) return signed;
  return req.cookies?.[NAME] === undefined ? undefined : false;
}

function viaVerifier(header: string | undefined, secrets: string[]): unknown {
  const value = readCookie(header, NAME);
  if (value === undefined) return undefined;
  const result = createCookieVerifier(secrets).verify(value);
  return result ? result.id : result;
}

const headers: (string | undefined)[] = [
  undefined,
  "",
  "x",
  `${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `${NAME}=s:${sign(ID, SECRET_A)}`,
  `${NAME}=${enc(`s:${sign(ID, SECRET_B)}`)}`, // signed with the old secret
  `${NAME}=${enc(`s:${sign(ID, "some-other-secret-that-we-never-had-000")}`)}`,
  `${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}x`,
  `${NAME}=${ID}`, // unsigned
  `${NAME}=`,
  `${NAME}="${enc(`s:${sign(ID, SECRET_A)}`)}"`,
  `${NAME}="`,
  `  ${NAME}  =  ${enc(`s:${sign(ID, SECRET_A)}`)}  ; other=1`,
  `\t${NAME}\t=\ts:${sign(ID, SECRET_A)}\t`,
  `other=1; ${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `${NAME}=${enc(`s:${sign("evil", "wrong")}`)}; ${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}`, // first wins
  `${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}; ${NAME}=garbage`,
  `x${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `${NAME}x=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `junk; ${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `junk;;; ${NAME}=s:${sign(ID, SECRET_A)}; more junk`,
  `${NAME}; other=${NAME}; ${NAME}=s:${sign(ID, SECRET_A)}`,
  `${NAME}=%%%%%ZZ%E0%A4`,
  `${NAME}=s%3A`,
  `${NAME}=s:`,
  `${NAME}=s:.`,
  `${NAME}=s:${ID}`,
  `${NAME}=s:${ID}.`,
  `${NAME}=s:.${sign("", SECRET_A).slice(1)}`,
  `${NAME}=${enc(`s:${sign("a.b.c", SECRET_A)}`)}`,
  `${NAME}=${enc(`s:${sign(ID, SECRET_A)}`)}=`,
  `${NAME}=abc\u0001\u0002def`,
  `__proto__=x; constructor=y; ${NAME}=zzz`,
];

describe("the session cookie's verifier agrees with cookie-parser", () => {
  for (const [i, header] of headers.entries()) {
    it(`header ${i}: ${JSON.stringify(header)?.slice(0, 70)}`, () => {
      for (const secrets of [[SECRET_A], [SECRET_A, SECRET_B]]) {
        assert.deepEqual(viaVerifier(header, secrets), viaCookieParser(header, secrets), `secrets ${secrets.length}`);
      }
    });
  }

  it("remembers a verified value, tells the secret it was signed with, and signs exactly as cookie-signature does", () => {
    const verifier = createCookieVerifier([SECRET_A, SECRET_B]);
    assert.deepEqual(verifier.verify(`s:${sign(ID, SECRET_B)}`), { id: ID, keyIndex: 1 });
    assert.deepEqual(verifier.verify(`s:${sign(ID, SECRET_B)}`), { id: ID, keyIndex: 1 }, "from memory, same answer");
    assert.equal(verifier.sign(ID), `s:${sign(ID, SECRET_A)}`, "re-signed under the first secret");
    assert.deepEqual(verifier.verify(verifier.sign(ID)), { id: ID, keyIndex: 0 });
    assert.equal(verifier.verify(`s:${sign(ID, SECRET_A)}x`), false, "a tampered value is not mistaken for a remembered one");
  });

  it("forgets the oldest values beyond its bound, and still verifies them afresh", () => {
    const verifier = createCookieVerifier([SECRET_A], 3);
    const ids = ["a", "b", "c", "d", "e"].map((c) => c.repeat(43));
    for (const id of ids) assert.equal((verifier.verify(`s:${sign(id, SECRET_A)}`) || { id: null }).id, id);
    assert.equal((verifier.verify(`s:${sign(ids[0]!, SECRET_A)}`) || { id: null }).id, ids[0]);
  });
});
