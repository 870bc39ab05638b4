/** Lab 11's cookie builder: only listed choices reach the header, and the rules the page states. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseChoices, predict, setCookieLine } from "./lab-cookies.ts";

describe("lab 11 cookie builder", () => {
  it("takes only the listed values: anything else falls back, so nothing typed reaches the header", () => {
    const c = parseChoices({ path: "/; Domain=evil.example", domain: "evil.example", sameSite: "lax\r\nX: 1", maxAge: "99999", value: "a;b", httpOnly: "1" });
    assert.equal(setCookieLine(c, "localhost"), "lab_cookie=v1; Path=/; HttpOnly");
  });

  it("writes the attributes in the order a reader expects", () => {
    const c = parseChoices({ hostPrefix: "1", secure: "1", httpOnly: "1", sameSite: "Strict", maxAge: "600", value: "abc" });
    assert.equal(setCookieLine(c, "localhost"), "__Host-lab_cookie=abc; Path=/; Max-Age=600; SameSite=Strict; Secure; HttpOnly");
  });

  it("predicts what Chromium does (the spec checks each against the browser)", () => {
    const on = (input: Record<string, string>, host = "localhost", secureContext = true) => predict(parseChoices(input), { secureContext, host });
    assert.equal(on({ hostPrefix: "1", secure: "1", domain: "host" }).stored, false);
    assert.equal(on({ hostPrefix: "1", secure: "1", domain: "host" }, "127.0.0.1").stored, true, "a Domain equal to the IP is dropped");
    assert.equal(on({ secure: "1" }, "shop.example", false).stored, false);
    assert.equal(on({ sameSite: "None" }).stored, false);
    assert.deepEqual(on({ path: "/nowhere" }), { stored: true, sentHere: false, visibleToScripts: false, why: on({ path: "/nowhere" }).why });
    assert.equal(on({ httpOnly: "1" }).visibleToScripts, false);
    assert.equal(on({ maxAge: "0" }).stored, false);
  });
});
