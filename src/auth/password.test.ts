import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPasswordHasher, hashPassword, OWASP_SCRYPT, passwordProblem, verifyPassword } from "./password.ts";
import { HttpError } from "../errors.ts";

describe("password hashing", () => {
  it("hashes with scrypt at the OWASP cost, salted, and verifies", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    assert.match(a, new RegExp(`^scrypt\\$${OWASP_SCRYPT.N}\\$8\\$1\\$[\\w-]{22}\\$[\\w-]{43}$`));
    assert.notEqual(a, b, "a fresh salt every time");
    assert.equal(await verifyPassword("correct horse battery", a), true);
    assert.equal(await verifyPassword("correct horse batterY", a), false);
    assert.equal(await verifyPassword("", a), false);
  });

  it("does not block the event loop while hashing", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await hashPassword("correct horse battery");
    clearInterval(timer);
    assert.ok(ticks >= 5, `the event loop ticked only ${ticks} times during a hash`);
  });

  it("refuses malformed stored hashes instead of throwing", async () => {
    assert.equal(await verifyPassword("x", "plaintext"), false);
    assert.equal(await verifyPassword("x", "bcrypt$1$2$3$4$5"), false);
  });
});

describe("password rules", () => {
  it("want at least 10 characters, at most 128, not a common one, not the email", () => {
    assert.match(passwordProblem("short", "a@b.c")!, /at least 10/);
    assert.match(passwordProblem("x".repeat(129), "a@b.c")!, /at most 128/);
    assert.match(passwordProblem("Password123", "a@b.c")!, /most common/);
    assert.match(passwordProblem("me@example.com", "me@example.com")!, /not be your email/);
    assert.equal(passwordProblem("correct horse battery", "a@b.c"), null);
    assert.equal(passwordProblem("ünïcødé-pässwörd", "a@b.c"), null, "any characters are welcome");
  });
});

describe("rationed hashing", () => {
  const cheap = { N: 2 ** 12, r: 8, p: 1 } as const;

  it("runs at most `concurrency` hashes at once, queues the next ones, and refuses past the queue with a 503", async () => {
    const hasher = createPasswordHasher({ concurrency: 2, maxWaiting: 3, params: cheap });
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, hasher.load.running)), 0);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => hasher.hash(`password number ${i}`)));
    clearInterval(watch);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 5, "two run, three wait their turn");
    const refused = results.find((r) => r.status === "rejected");
    assert.ok(refused && refused.status === "rejected" && refused.reason instanceof HttpError);
    assert.equal(refused.reason.status, 503);
    assert.equal(refused.reason.retryAfterSeconds, 2);
    assert.ok(most <= 2, `never more than two at once (saw ${most})`);
    assert.deepEqual(hasher.load, { running: 0, waiting: 0 }, "and every slot is given back");
    const stored = (results[0] as PromiseFulfilledResult<string>).value;
    assert.equal(await hasher.verify("password number 0", stored), true);
    assert.equal(await hasher.verify("password number 1", stored), false);
  });
});
