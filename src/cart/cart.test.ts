import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addItem, countItems, MAX_LINES, parseQuantity, removeItem, setQuantity } from "./cart.ts";
import { formatCents } from "./money.ts";
import { priceCart } from "./pricing.ts";

const teapot = { id: 1, name: "Teapot", stock: 24 };
const grinder = { id: 6, name: "Grinder", stock: 3 };
const pen = { id: 14, name: "Pen", stock: 0 };

describe("parseQuantity", () => {
  it("accepts whole numbers from 1 to 10", () => {
    for (const q of ["1", "5", "10", "07"]) assert.deepEqual(parseQuantity(q), { ok: true, quantity: Number(q) });
  });
  it("refuses zero, negative, fractional, exponent, non-numeric, padded and non-string input", () => {
    for (const q of ["0", "-1", "1.5", "1e1", "two", "", " 2", "11", "999", "0x5", "１", undefined, null, ["1", "2"], 3]) {
      const r = parseQuantity(q);
      assert.equal(r.ok, false, `accepted ${JSON.stringify(q)}`);
      if (!r.ok) assert.match(r.message, /whole number from 1 to 10/);
    }
  });
});

describe("cart rules", () => {
  it("adds a new line, then merges a second add of the same product", () => {
    const a = addItem([], teapot, 2);
    assert.ok(a.ok);
    const b = addItem(a.cart, teapot, 3);
    assert.ok(b.ok);
    assert.deepEqual(b.cart, [{ productId: 1, quantity: 5 }]);
  });
  it("refuses to go over 10 of one product, counting what is already in the cart", () => {
    const r = addItem([{ productId: 1, quantity: 8 }], teapot, 3);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.message, /at most 10/);
  });
  it("refuses more than the stock and sold-out products", () => {
    const r = addItem([{ productId: 6, quantity: 2 }], grinder, 2);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.message, /Only 3 of Grinder left/);
    const s = addItem([], pen, 1);
    assert.equal(s.ok, false);
    if (!s.ok) assert.match(s.message, /sold out/);
  });
  it("bounds the number of lines in a cart", () => {
    const full = Array.from({ length: MAX_LINES }, (_, i) => ({ productId: 100 + i, quantity: 1 }));
    const r = addItem(full, teapot, 1);
    assert.equal(r.ok, false);
  });
  it("sets a quantity only for a product in the cart and within the rules", () => {
    const cart = [{ productId: 1, quantity: 2 }];
    const ok = setQuantity(cart, teapot, 7);
    assert.ok(ok.ok);
    assert.deepEqual(ok.cart, [{ productId: 1, quantity: 7 }]);
    assert.equal(setQuantity(cart, grinder, 1).ok, false);
    assert.equal(setQuantity([{ productId: 6, quantity: 1 }], grinder, 4).ok, false);
  });
  it("removes a line and counts items", () => {
    const cart = [
      { productId: 1, quantity: 2 },
      { productId: 6, quantity: 1 },
    ];
    assert.equal(countItems(cart), 3);
    assert.deepEqual(removeItem(cart, 1), [{ productId: 6, quantity: 1 }]);
    assert.deepEqual(removeItem(cart, 99), cart);
  });
  it("never mutates the cart it is given", () => {
    const cart = Object.freeze([Object.freeze({ productId: 1, quantity: 2 })]);
    addItem(cart as never, teapot, 1);
    setQuantity(cart as never, teapot, 5);
    assert.deepEqual(cart, [{ productId: 1, quantity: 2 }]);
  });
});

describe("money", () => {
  it("formats integer cents as dollars", () => {
    assert.equal(formatCents(4200), "$42.00");
    assert.equal(formatCents(5), "$0.05");
    assert.equal(formatCents(123456), "$1,234.56");
  });
  it("refuses fractional cents", () => {
    assert.throws(() => formatCents(10.5), TypeError);
  });
  it("prices a cart from catalog prices, without floating-point drift", () => {
    const products = new Map([
      [1, { id: 1, categoryId: 1, slug: "a", name: "A", description: "", image: "", priceCents: 10, stock: 5 }],
      [2, { id: 2, categoryId: 1, slug: "b", name: "B", description: "", image: "", priceCents: 20, stock: 1 }],
    ]);
    const priced = priceCart(
      [
        { productId: 1, quantity: 3 },
        { productId: 2, quantity: 2 },
        { productId: 3, quantity: 1 },
      ],
      products,
    );
    assert.equal(priced.subtotalCents, 70); // 0.1*3 + 0.2*2 would be 0.7000000000000001 in floats
    assert.equal(priced.itemCount, 5);
    assert.equal(priced.lines.length, 2, "a product no longer in the catalog drops out");
    assert.equal(priced.lines[1]!.shortBy, 1);
  });
});
