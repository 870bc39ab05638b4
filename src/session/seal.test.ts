/**
 * Session data sealed at rest (seal.ts), first as a function, then through real HTTP on a real
 * SQLite file and the memory store (a real redis-server: seal-redis.test.ts): what a copy of the store shows (no carts, no notes), that a
 * changed or moved blob is no session at all (never a 5xx), that sign-in re-seals under the new ID,
 * and that rows written before sealing still load and are sealed at their next write.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { sign } from "cookie-signature";
import { addToCart, cartOf, Client, register, SECRET_A, startTestApp } from "../test/harness.ts";
import { reachableBytes } from "../test/memory.ts";
import { hashSessionId, newSessionId } from "./id.ts";
import { sealFor } from "./seal.ts";
import type { SessionData } from "./types.ts";

const NOTE = "For Ada Lovelace, with love";
const cart: SessionData = { cart: [{ productId: 3, quantity: 2, note: NOTE }] };
const sealedOf = (s: unknown) => (s as { sealed: string }).sealed;

describe("sealFor (the function)", () => {
  const id = newSessionId();
  const key = hashSessionId(id);

  it("round trip: what is sealed under an ID opens with that ID, and shows nothing of the cart", () => {
    const sealed = sealFor(id, key).seal(cart);
    assert.match(sealedOf(sealed), /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    assert.doesNotMatch(JSON.stringify(sealed), /Ada|productId|quantity/);
    assert.deepEqual(sealFor(id, key).open(sealed), cart);
  });

  it("uses a fresh nonce for every write: the same cart sealed twice looks different", () => {
    const [a, b] = [sealFor(id, key).seal(cart), sealFor(id, key).seal(cart)];
    assert.notEqual(sealedOf(a).split(".")[1], sealedOf(b).split(".")[1]);
    assert.notEqual(sealedOf(a), sealedOf(b));
  });

  it("does not open when the ciphertext, the nonce or the tag was changed, or the blob is garbage", () => {
    const [v, nonce, body] = sealedOf(sealFor(id, key).seal(cart)).split(".") as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    for (const tampered of [
      `${v}.${nonce}.${flip(body, 3)}`, // ciphertext
      `${v}.${flip(nonce, 2)}.${body}`, // nonce
      `${v}.${nonce}.${flip(body, body.length - 2)}`, // tag
      `${v}.${nonce}.${body.slice(0, -4)}`, // truncated tag
      `v2.${nonce}.${body}`,
      `${v}.${nonce}`,
      "",
      "v1..",
    ]) {
      assert.equal(sealFor(id, key).open({ sealed: tampered }), null, tampered);
    }
  });

  it("does not open under another store key (the AAD): a blob copied to another row is not a session", () => {
    const sealed = sealFor(id, key).seal(cart);
    assert.equal(sealFor(id, hashSessionId(newSessionId())).open(sealed), null);
  });

  it("does not open with another ID, nor with the store key itself: the hash in the table gives no key", () => {
    const sealed = sealFor(id, key).seal(cart);
    assert.equal(sealFor(newSessionId(), key).open(sealed), null);
    assert.equal(sealFor(key, key).open(sealed), null, "HKDF of the hash is not HKDF of the ID");
  });

  it("reads a plaintext record from before sealing as it is; refuses one that is not session data", () => {
    assert.deepEqual(sealFor(id, key).open(cart), cart);
    assert.equal(sealFor(id, key).open({} as SessionData), null);
  });
});

/** Everything the SQLite file holds on disk right now (the database and its write-ahead log), as a thief would copy it. */
const fileBytes = (dir: string) =>
  ["shop.sqlite", "shop.sqlite-wal"]
    .map((f) => path.join(dir, f))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString("latin1"))
    .join("");

async function addWithNote(c: Client) {
  await addToCart(c, 3, 2);
  await c.get("/cart");
  const res = await c.post("/cart/items/3/note", { note: NOTE, returnTo: "/cart" });
  assert.equal(res.status, 303);
}

describe("a seal's memory (issue 29: 45 KB of Buffer memory per remembered shopper)", () => {
  it("2,000 seals kept alive hold under 1 MB of Buffer memory, however busy Node's Buffer pool is between them", async () => {
    const before = (await reachableBytes()).arrayBuffers;
    const kept: ReturnType<typeof sealFor>[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = newSessionId();
      kept.push(sealFor(id, hashSessionId(id)));
      // What serving a request does meanwhile: small Buffers cut from the same shared 64 KiB pool
      // (cookie checks, CSRF tokens, compression). A seal holding a slice of that pool holds all of it.
      for (let j = 0; j < 8; j++) Buffer.from("x".repeat(4000));
    }
    const grown = (await reachableBytes()).arrayBuffers - before;
    assert.equal(kept.length, 2000);
    assert.ok(grown < 1_000_000, `2,000 seals hold ${Math.round(grown / 1024)} KiB of Buffer memory`);
  });
});

describe("sealed at rest, SQLite technique (real file, real HTTP)", () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  afterEach(() => app.close());

  it("a copy of the database file shows no cart and no gift note; the shopper sees both", async () => {
    app = await startTestApp();
    const c = app.client();
    await addWithNote(c);
    assert.deepEqual([...(await cartOf(c))], [[3, 2]]);
    assert.match((await c.get("/cart")).text, /For Ada Lovelace/);
    // A separate connection, as a thief with a copy of the file would open it.
    const thief = new Database(path.join(app.dir, "shop.sqlite"), { readonly: true });
    const rows = thief.prepare("SELECT * FROM sessions").all() as { id_hash: string; data: string }[];
    thief.close();
    assert.equal(rows.length, 1);
    assert.doesNotMatch(rows[0]!.data, /Ada|productId|quantity|note/);
    assert.ok(!fileBytes(app.dir).includes("Ada Lovelace"), "not in the file's bytes either (database and WAL)");
    assert.ok(!fileBytes(app.dir).includes(c.sessionId()!), "nor the session ID");
  });

  it("a changed blob is treated as no session: a fresh empty cart, the cookie cleared, never a 5xx", async () => {
    app = await startTestApp();
    const c = app.client();
    await addWithNote(c);
    const [row] = app.sessionRows();
    const sealed = sealedOf(JSON.parse(row!.data));
    const changed = `${sealed.slice(0, -6)}${sealed.slice(-6, -5) === "A" ? "B" : "A"}${sealed.slice(-5)}`;
    app.db.prepare("UPDATE sessions SET data = ? WHERE id_hash = ?").run(JSON.stringify({ sealed: changed }), row!.id_hash);
    const page = await c.get("/cart");
    assert.equal(page.status, 200);
    assert.ok(
      page.setCookies.some((l) => /^shop_sid=;/.test(l)),
      "the cookie is cleared",
    );
    assert.equal(Client.badge(page.text), 0);
    const add = await addToCart(c, 1, 1); // and the shop goes on: a new session
    assert.equal(add.status, 303);
    assert.deepEqual([...(await cartOf(c))], [[1, 1]]);
  });

  it("a sealed blob copied into another shopper's row does not open there", async () => {
    app = await startTestApp();
    const victim = app.client();
    await addWithNote(victim);
    const attacker = app.client();
    await addToCart(attacker, 1, 1);
    const victimRow = app.sessionRows().find((r) => r.id_hash === victim.sessionKey())!;
    app.db.prepare("UPDATE sessions SET data = ? WHERE id_hash = ?").run(victimRow.data, attacker.sessionKey());
    const page = await attacker.get("/cart");
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /Ada Lovelace/);
    assert.equal(Client.badge(page.text), 0, "a fresh, empty session: neither the victim's cart nor the attacker's");
    assert.deepEqual([...(await cartOf(victim))], [[3, 2]], "the victim's own cart is untouched");
  });

  it("sign-in re-seals the cart under the new ID: the old ID's key opens nothing", async () => {
    app = await startTestApp();
    const c = app.client();
    await addWithNote(c);
    const [oldId, oldKey] = [c.sessionId()!, c.sessionKey()!];
    await register(c);
    assert.notEqual(c.sessionId(), oldId, "a new ID at sign-in");
    const rows = app.sessionRows();
    assert.equal(rows.length, 1, "the old row is gone");
    const stored = JSON.parse(rows[0]!.data);
    assert.deepEqual(sealFor(c.sessionId()!, c.sessionKey()!).open(stored)?.cart, cart.cart);
    assert.equal(sealFor(oldId, oldKey).open(stored), null);
    assert.equal(sealFor(oldId, c.sessionKey()!).open(stored), null);
    assert.deepEqual([...(await cartOf(c))], [[3, 2]]);
  });

  it("a plaintext row from before sealing still loads, and is sealed at its next write", async () => {
    app = await startTestApp();
    const id = newSessionId();
    const now = app.clock.now();
    app.db
      .prepare("INSERT INTO sessions (id_hash, data, user_id, created_at, last_seen_at, expires_at, user_agent) VALUES (?, ?, NULL, ?, ?, ?, NULL)")
      .run(hashSessionId(id), JSON.stringify({ cart: [{ productId: 2, quantity: 3 }] }), now, now, now + 600_000);
    const c = app.client();
    c.cookies.set("shop_sid", encodeURIComponent(`s:${sign(id, SECRET_A)}`));
    assert.deepEqual([...(await cartOf(c))], [[2, 3]], "the shopper's cart did not vanish on upgrade");
    assert.match(app.sessionRows()[0]!.data, /productId/, "reading alone does not rewrite the row");
    const notSealed = () => (app.db.prepare("SELECT count(*) AS n FROM sessions_not_sealed_yet").get() as { n: number }).n;
    assert.equal(notSealed(), 1, "migration 008's view lists it");
    await addToCart(c, 1, 1);
    assert.equal(notSealed(), 0);
    const stored = JSON.parse(app.sessionRows()[0]!.data);
    assert.ok(typeof stored.sealed === "string", "sealed at the first write");
    assert.deepEqual(sealFor(id, hashSessionId(id)).open(stored)?.cart, [
      { productId: 2, quantity: 3 },
      { productId: 1, quantity: 1 },
    ]);
  });
});

describe("sealed at rest, memory technique (the same code path; Redis: seal-redis.test.ts)", () => {
  it("memory: the shopper's cart round-trips; the Map holds only the sealed blob", async () => {
    const app = await startTestApp({ SESSION_STORE: "memory" });
    try {
      const c = app.client();
      await addWithNote(c);
      assert.deepEqual([...(await cartOf(c))], [[3, 2]]);
      const [listed] = await app.store.listAll(10);
      assert.doesNotMatch(JSON.stringify(listed), /Ada|productId/);
    } finally {
      await app.close();
    }
  });
});
