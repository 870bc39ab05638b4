import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashSessionId, isWellFormedSessionId, newSessionId } from "./id.ts";

describe("session IDs", () => {
  it("are 32 random bytes in base64url: 43 URL-safe characters", () => {
    const id = newSessionId();
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(id, "base64url").length, 32);
  });
  it("do not repeat across 10,000 draws", () => {
    const seen = new Set(Array.from({ length: 10_000 }, newSessionId));
    assert.equal(seen.size, 10_000);
  });
  it("are stored only as their SHA-256, which does not contain the ID", () => {
    const id = newSessionId();
    const key = hashSessionId(id);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(hashSessionId(id), key, "deterministic");
    assert.ok(!key.includes(id));
  });
  it("reject anything that is not exactly a 43-character base64url string", () => {
    for (const bad of ["", "abc", "1", `${newSessionId()}x`, `${newSessionId().slice(1)}=`, "../../etc/passwd", 42, null, { id: 1 }]) {
      assert.equal(isWellFormedSessionId(bad), false, JSON.stringify(bad));
    }
    assert.equal(isWellFormedSessionId(newSessionId()), true);
  });
});
