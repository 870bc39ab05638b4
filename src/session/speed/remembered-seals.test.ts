/**
 * Remembered seals (remembered-seals.ts): the key is derived once per ID and the last record's data is
 * remembered, but only an exactly identical sealed text skips the decryption. Anything else is
 * opened and authenticated as seal.ts does, so no tampered, moved or foreign record gets through.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashSessionId, newSessionId } from "../id.ts";
import { sealFor } from "../seal.ts";
import type { SessionData } from "../types.ts";
import { nonceSource } from "./nonces.ts";
import { createRememberedSeals, SEALS_MAX_BYTES } from "./remembered-seals.ts";
import { MAX_LINES, MAX_NOTE_LENGTH } from "../../cart/cart.ts";
import { reachableBytes } from "../../test/memory.ts";

const cart = (quantity: number): SessionData => ({ cart: [{ productId: 3, quantity, note: "for Ada" }] });
const sealedOf = (s: unknown) => (s as { sealed: string }).sealed;
/** The largest cart the shop allows: every line taken, each with the longest gift note. */
const fullCart = (): SessionData => ({
  cart: Array.from({ length: MAX_LINES }, (_, i) => ({ productId: i + 1, quantity: 10, note: "ü".repeat(MAX_NOTE_LENGTH) })),
});

describe("remembered seals", () => {
  it("gives the same seal for the same ID, and what it seals opens with seal.ts itself", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const key = hashSessionId(id);
    assert.equal(seals(id, key), seals(id, key));
    const stored = seals(id, key).seal(cart(2));
    assert.deepEqual(sealFor(id, key).open(stored), cart(2), "the blob at rest is an ordinary sealed record");
  });

  it("opens the record it last wrote without decrypting, to the same data, frozen against changes in place", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const seal = seals(id, hashSessionId(id));
    const stored = seal.seal(cart(2));
    const opened = seal.open(stored);
    assert.deepEqual(opened, cart(2));
    assert.equal(seal.open({ sealed: sealedOf(stored) }), opened, "the same text (a fresh copy of it) gives the remembered data");
    assert.throws(() => {
      (opened!.cart as unknown as { push(x: unknown): void }).push({ productId: 9, quantity: 1 });
    }, TypeError);
    assert.throws(() => {
      (opened!.cart[0] as { quantity: number }).quantity = 5;
    }, TypeError);
  });

  it("still refuses a tampered text, a blob from another row, another ID's record and garbage, after a good one was remembered", () => {
    const seals = createRememberedSeals();
    const [id, other] = [newSessionId(), newSessionId()];
    const seal = seals(id, hashSessionId(id));
    const good = sealedOf(seal.seal(cart(2)));
    const [v, nonce, body] = good.split(".") as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const foreign = sealedOf(sealFor(other, hashSessionId(other)).seal(cart(7)));
    const moved = sealedOf(sealFor(id, hashSessionId(other)).seal(cart(7)));
    for (const text of [`${v}.${nonce}.${flip(body, 3)}`, `${v}.${nonce}.${flip(body, body.length - 2)}`, foreign, moved, "", "v1.."]) {
      assert.equal(seal.open({ sealed: text }), null, text);
    }
    assert.deepEqual(seal.open({ sealed: good }), cart(2), "the remembered record still opens");
  });

  it("follows the newest record: a record written elsewhere (another process) is opened and then remembered", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const key = hashSessionId(id);
    const seal = seals(id, key);
    seal.seal(cart(1));
    const elsewhere = sealFor(id, key).seal(cart(4)); // another process's write: a text this one never saw
    assert.deepEqual(seal.open(elsewhere), cart(4));
    assert.equal(seal.open(elsewhere), seal.open(elsewhere), "then remembered");
    assert.ok(Object.isFrozen(seal.open(elsewhere)));
  });

  it("serves what is committed after a write that rolled back: the remembered text is not the stored one", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const seal = seals(id, hashSessionId(id));
    const committed = seal.seal(cart(1));
    seal.seal(cart(9)); // sealed inside a transaction that then failed: never stored
    assert.deepEqual(seal.open(committed), cart(1));
  });

  it("reads a legacy plaintext record as seal.ts does, without remembering it", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const seal = seals(id, hashSessionId(id));
    const plain = cart(3);
    assert.equal(seal.open(plain), plain);
    assert.ok(!Object.isFrozen(plain));
  });

  it("remembers at most `max` IDs, the oldest going first", () => {
    const seals = createRememberedSeals({ max: 2 });
    const ids = [newSessionId(), newSessionId(), newSessionId()];
    const first = seals(ids[0]!, hashSessionId(ids[0]!));
    seals(ids[1]!, hashSessionId(ids[1]!));
    seals(ids[2]!, hashSessionId(ids[2]!));
    assert.notEqual(seals(ids[0]!, hashSessionId(ids[0]!)), first, "forgotten, derived again");
  });

  it("leaves the caller's own object as it was: what it remembers is a frozen copy", () => {
    const seal = createRememberedSeals()(newSessionId(), hashSessionId(newSessionId()));
    const mine = { cart: [{ productId: 3, quantity: 1 }] };
    const stored = seal.seal(mine);
    assert.ok(!Object.isFrozen(mine) && !Object.isFrozen(mine.cart), "the caller may keep changing its own object");
    mine.cart[0]!.quantity = 7;
    assert.deepEqual(seal.open(stored), { cart: [{ productId: 3, quantity: 1 }] }, "what was sealed, not the caller's later change");
    assert.ok(seal.lastOpenRemembered, "answered from memory, and says so");
  });

  it("cuts nonces from a pool without ever handing one out twice, across refills", () => {
    const next = nonceSource(4);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const nonce = next();
      assert.equal(nonce.length, 12);
      seen.add(nonce.toString("hex"));
    }
    assert.equal(seen.size, 1000, "a repeated nonce under one key would break AES-GCM");
  });

  it("seals every write of a session under a fresh nonce, so two seals of the same cart differ", () => {
    const seals = createRememberedSeals();
    const id = newSessionId();
    const seal = seals(id, hashSessionId(id));
    const nonceOf = (s: unknown) => sealedOf(s).split(".")[1];
    const nonces = new Set(Array.from({ length: 600 }, () => nonceOf(seal.seal(cart(1)))));
    assert.equal(nonces.size, 600);
  });

  it("the largest carts the shop allows push the oldest seals out once the byte budget is full; ordinary ones all fit", () => {
    const seals = createRememberedSeals({ max: 10_000, maxBytes: 200_000 });
    const largest = fullCart();
    const shoppers = Array.from({ length: 20 }, () => newSessionId());
    const first = shoppers.map((id) => {
      const seal = seals(id, hashSessionId(id));
      seal.seal(largest); // ≈ 40 KB each as counted: five fit in 200 KB
      return seal;
    });
    assert.notEqual(seals(shoppers[0]!, hashSessionId(shoppers[0]!)), first[0], "the oldest was forgotten: a new seal is made");
    assert.equal(seals(shoppers[19]!, hashSessionId(shoppers[19]!)), first[19], "the newest is still remembered");
    const ordinary = Array.from({ length: 100 }, () => newSessionId());
    const kept = ordinary.map((id) => seals(id, hashSessionId(id)));
    for (const seal of kept) seal.seal(cart(2));
    for (const [i, id] of ordinary.entries()) assert.equal(seals(id, hashSessionId(id)), kept[i], "100 ordinary carts fit in 200 KB");
  });

  it("1,000 shoppers with the largest cart leave about the byte budget (24 MB) remembered, not 1,000 full carts (≈ 50 MB)", async () => {
    const seals = createRememberedSeals();
    const largest = fullCart();
    const texts = Array.from({ length: 1000 }, () => {
      const id = newSessionId();
      return { id, sealed: sealedOf(sealFor(id, hashSessionId(id)).seal(largest)) };
    });
    const before = (await reachableBytes()).total;
    // Each text as a request reads it from the store: a string of its own, which the cache then keeps.
    for (const { id, sealed } of texts) seals(id, hashSessionId(id)).open({ sealed: Buffer.from(sealed).toString() });
    const grown = (await reachableBytes()).total - before;
    assert.ok(grown < SEALS_MAX_BYTES * 1.25, `1,000 full carts remembered: ${Math.round(grown / 1048576)} MB`);
  });
});
