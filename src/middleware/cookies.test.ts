/**
 * lazyCookies must give routes exactly what cookie-parser gave them: the same req.cookies, the same
 * req.signedCookies (value, JSON, or false for a bad signature), the same req.secret. Compared here
 * with cookie-parser itself on the same headers; and it must not verify a signed cookie nobody reads.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import cookieParser from "cookie-parser";
import { sign } from "cookie-signature";
import type { Request, Response } from "express";
import { SECRET_A, SECRET_B } from "../test/harness.ts";
import { lazyCookies } from "./cookies.ts";

const SID = "shop_sid";
const FLASH = "shop_flash";
const ID = "A".repeat(20) + "b_-".repeat(7) + "Z".repeat(2);
const enc = (v: string) => encodeURIComponent(v);
const flashValue = (secret: string) => enc(`s:${sign(`j:${JSON.stringify({ kind: "success", text: "Added 2 × Teapot" })}`, secret)}`);

type Parsed = { cookies: unknown; signedCookies: unknown; secret: unknown };
const requestWith = (header: string | undefined) => ({ headers: header === undefined ? {} : { cookie: header } }) as unknown as Request;
const read = (req: Request): Parsed => ({
  cookies: req.cookies,
  // Spread into a plain object, so the lazily verified values are read and compared.
  signedCookies: { ...req.signedCookies },
  secret: (req as Request & { secret?: string }).secret,
});

function viaCookieParser(header: string | undefined, secrets: string[]): Parsed {
  const req = requestWith(header);
  cookieParser(secrets)(req, {} as Response, () => {});
  return read(req);
}

/** A request whose prototype has the lazy accessors, as Express's app.request gives every request. */
function lazyRequest(header: string | undefined, secrets: string[]): Request {
  const prototype = {};
  lazyCookies(prototype, secrets);
  return Object.assign(Object.create(prototype) as Request, requestWith(header));
}

const viaLazy = (header: string | undefined, secrets: string[]) => read(lazyRequest(header, secrets));

const headers: (string | undefined)[] = [
  undefined,
  "",
  "x",
  `${SID}=${enc(`s:${sign(ID, SECRET_A)}`)}`,
  `${SID}=${enc(`s:${sign(ID, SECRET_B)}`)}; ${FLASH}=${flashValue(SECRET_A)}`, // old secret; a flash
  `${FLASH}=${flashValue(SECRET_B)}`,
  `${FLASH}=${flashValue("some-other-secret-that-we-never-had-000")}`,
  `${FLASH}=${flashValue(SECRET_A)}x`, // tampered
  `${FLASH}=j:${enc(JSON.stringify({ kind: "error", text: "unsigned" }))}`, // unsigned JSON: never in signedCookies
  `${FLASH}=${enc(`s:${sign("j:not json", SECRET_A)}`)}`,
  `${FLASH}=${enc(`s:${sign("j:0", SECRET_A)}`)}`,
  `a=${enc('j:"s:abc"')}; b=j:null; c=j:[1]; d=s:; e=s:x.y`,
  `${SID}=${ID}; shop_presession=${"n".repeat(43)}; shop_xray=1`,
  `${SID}=${enc(`s:${sign("evil", "wrong")}`)}; ${SID}=${enc(`s:${sign(ID, SECRET_A)}`)}`, // first wins
  `  ${SID}  =  "${enc(`s:${sign(ID, SECRET_A)}`)}"  ; other=%E0%A4; junk;;`,
  `__proto__=x; constructor=y; toString=${enc(`s:${sign("z", SECRET_A)}`)}; hasOwnProperty=j:{}`,
];

describe("lazy cookies agree with cookie-parser", () => {
  for (const [i, header] of headers.entries()) {
    it(`header ${i}: ${JSON.stringify(header)?.slice(0, 70)}`, () => {
      for (const secrets of [[SECRET_A], [SECRET_A, SECRET_B], []]) {
        assert.deepStrictEqual(viaLazy(header, secrets), viaCookieParser(header, secrets), `secrets ${secrets.length}`);
      }
    });
  }

  it("verifies a signed cookie only when a route reads that cookie", () => {
    const req = lazyRequest(`${SID}=${enc(`s:${sign(ID, SECRET_A)}`)}; ${FLASH}=${flashValue(SECRET_A)}; shop_xray=1`, [SECRET_A]);
    assert.equal(req.cookies.shop_xray, "1");
    assert.deepEqual(req.signedCookies[FLASH], { kind: "success", text: "Added 2 × Teapot" });
    // The session's cookie was neither read nor verified: its value is still behind its accessor.
    const sid = Object.getOwnPropertyDescriptor(req.signedCookies, SID);
    assert.equal(typeof sid?.get, "function", "not verified yet");
    assert.equal(req.signedCookies[SID], ID);
    assert.equal(Object.getOwnPropertyDescriptor(req.signedCookies, SID)?.value, ID, "verified once, then kept");
  });

  it("lets a route replace them, and keeps each request's own", () => {
    const prototype = {};
    lazyCookies(prototype, [SECRET_A]);
    const one = Object.assign(Object.create(prototype) as Request, requestWith("a=1"));
    const two = Object.assign(Object.create(prototype) as Request, requestWith("a=2"));
    assert.equal(one.cookies.a, "1");
    assert.equal(two.cookies.a, "2");
    one.cookies = { a: "mine" };
    assert.deepEqual(one.cookies, { a: "mine" });
    assert.equal(two.cookies.a, "2");
  });
});
