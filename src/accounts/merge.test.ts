import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergeCarts, sumLines, type MergeInput, type MergeProduct } from "./merge.ts";

const products = new Map<number, MergeProduct>([
  [1, { id: 1, name: "Stoneware Mug", stock: 50 }],
  [2, { id: 2, name: "Fountain Pen", stock: 0 }],
  [3, { id: 3, name: "Chef's Knife", stock: 4 }],
  [4, { id: 4, name: "Ceramic Teapot", stock: 30 }],
]);
for (let id = 100; id < 170; id++) products.set(id, { id, name: `Product ${id}`, stock: 99 });
const merge = (partial: Partial<MergeInput>) => mergeCarts({ guest: [], saved: [], policy: "sum", product: (id) => products.get(id), ...partial });
const line = (productId: number, quantity: number) => ({ productId, quantity });

describe("merging the guest cart with the saved cart at sign-in", () => {
  it("sum: quantities are added per product, and the shopper is told each sum", () => {
    const r = merge({ guest: [line(1, 2), line(4, 1)], saved: [line(1, 1)] });
    assert.deepEqual(r.cart, [line(1, 3), line(4, 1)]);
    assert.deepEqual(r.adjustments, ["Stoneware Mug: 2 + 1 → 3"]);
  });

  it("clamps a sum to 10 per product", () => {
    const r = merge({ guest: [line(1, 6)], saved: [line(1, 7)] });
    assert.deepEqual(r.cart, [line(1, 10)]);
    assert.deepEqual(r.adjustments, ["Stoneware Mug reduced to 10: at most 10 per product."]);
  });

  it("clamps to the stock left, and says how many are left", () => {
    const r = merge({ guest: [line(3, 3)], saved: [line(3, 2)] });
    assert.deepEqual(r.cart, [line(3, 4)]);
    assert.deepEqual(r.adjustments, ["Chef's Knife reduced to 4: only 4 left."]);
  });

  it("clamps a saved line alone to the stock, too (stock fell while the shopper was away)", () => {
    const r = merge({ saved: [line(3, 6)] });
    assert.deepEqual(r.cart, [line(3, 4)]);
    assert.deepEqual(r.adjustments, ["Chef's Knife reduced to 4: only 4 left."]);
  });

  it("drops sold-out and removed products with a sentence each", () => {
    const r = merge({ guest: [line(1, 1)], saved: [line(2, 1), line(999, 2)] });
    assert.deepEqual(r.cart, [line(1, 1)]);
    assert.deepEqual(r.adjustments, ["Fountain Pen was sold out and was removed.", "A product from your saved cart is no longer sold and was removed."]);
  });

  it("keeps the 60-line bound: lines beyond it are left out, and the shopper is told which", () => {
    const guest = Array.from({ length: 40 }, (_, i) => line(100 + i, 1));
    const saved = Array.from({ length: 30 }, (_, i) => line(140 + i, 1));
    const r = merge({ guest, saved });
    assert.equal(r.cart.length, 60);
    assert.equal(r.adjustments.length, 10);
    assert.equal(r.adjustments[0], "Product 160 was left out: a cart holds at most 60 different products.");
  });

  it("an empty guest cart gives back the saved cart as it was, with nothing to report", () => {
    const r = merge({ saved: [line(1, 2), line(4, 3)] });
    assert.deepEqual(r.cart, [line(1, 2), line(4, 3)]);
    assert.deepEqual(r.adjustments, []);
  });

  it("keeps a line's gift note through the merge", () => {
    const r = merge({ guest: [{ productId: 1, quantity: 1, note: "For Ana" }], saved: [line(1, 1)] });
    assert.deepEqual(r.cart, [{ productId: 1, quantity: 2, note: "For Ana" }]);
  });

  it("larger: the larger quantity per product, said when the two differed", () => {
    const r = merge({ policy: "larger", guest: [line(1, 2), line(4, 1)], saved: [line(1, 5), line(4, 1)] });
    assert.deepEqual(r.cart, [line(1, 5), line(4, 1)]);
    assert.deepEqual(r.adjustments, ["Stoneware Mug: kept the larger quantity, 5 (not 2)."]);
  });

  it("newest: the cart changed last wins whole", () => {
    const saved = [line(4, 2)];
    const guest = [line(1, 1)];
    assert.deepEqual(merge({ policy: "newest", guest, saved, guestChangedAt: 10, savedChangedAt: 20 }).cart, saved);
    const r = merge({ policy: "newest", guest, saved, guestChangedAt: 30, savedChangedAt: 20 });
    assert.deepEqual(r.cart, guest);
    assert.deepEqual(r.adjustments, ["This visit's cart was newer, so it replaced your saved cart."]);
  });

  it("account: the saved cart wins whole when it has anything, and stock clamps still apply", () => {
    const r = merge({ policy: "account", guest: [line(1, 1)], saved: [line(3, 9)] });
    assert.deepEqual(r.cart, [line(3, 4)]);
    assert.deepEqual(r.adjustments, ["Your saved cart replaced this visit's cart.", "Chef's Knife reduced to 4: only 4 left."]);
    assert.deepEqual(merge({ policy: "account", guest: [line(1, 1)] }).cart, [line(1, 1)], "an empty saved cart keeps the guest's");
  });

  it("sumLines adds up several saved carts without losing or doubling a line", () => {
    assert.deepEqual(sumLines([line(1, 1)], [line(1, 2), line(4, 1)], []), [line(1, 3), line(4, 1)]);
  });
});
