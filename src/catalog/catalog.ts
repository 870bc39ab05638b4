/**
 * Catalog data access: categories and products, read-only for the shop (checkout lowers
 * stock in orders.ts). Statements are prepared once when the catalog is created.
 */
import { translatingUnavailable } from "../db/unavailable.ts";
import type { Db } from "../db/open.ts";

export interface Category {
  id: number;
  slug: string;
  name: string;
  blurb: string;
}

export interface Product {
  id: number;
  categoryId: number;
  slug: string;
  name: string;
  description: string;
  image: string;
  priceCents: number;
  stock: number;
}

interface ProductRow {
  id: number;
  category_id: number;
  slug: string;
  name: string;
  description: string;
  image: string;
  price_cents: number;
  stock: number;
}

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  categoryId: r.category_id,
  slug: r.slug,
  name: r.name,
  description: r.description,
  image: r.image,
  priceCents: r.price_cents,
  stock: r.stock,
});

export const MAX_QUERY_LENGTH = 100;

/** LIKE treats % and _ as wildcards; a search for "100%" means the characters, not a pattern. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type Catalog = ReturnType<typeof createCatalog>;

export function createCatalog(db: Db) {
  const columns = "id, category_id, slug, name, description, image, price_cents, stock";
  const allCategories = db.prepare<[], Category>("SELECT id, slug, name, blurb FROM categories ORDER BY id");
  const allProducts = db.prepare<[], ProductRow>(`SELECT ${columns} FROM products ORDER BY category_id, id`);
  const byCategory = db.prepare<[number], ProductRow>(`SELECT ${columns} FROM products WHERE category_id = ? ORDER BY id`);
  const bySlug = db.prepare<[string], ProductRow>(`SELECT ${columns} FROM products WHERE slug = ?`);
  const byId = db.prepare<[number], ProductRow>(`SELECT ${columns} FROM products WHERE id = ?`);
  const search = db.prepare<[{ q: string }], ProductRow>(
    `SELECT ${columns} FROM products
      WHERE name LIKE @q ESCAPE '\\' OR description LIKE @q ESCAPE '\\'
      ORDER BY (name LIKE @q ESCAPE '\\') DESC, name LIMIT 60`,
  );

  // Categories do not change while the shop runs: read them once, not on every page's nav.
  const categories = allCategories.all();

  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  return translatingUnavailable({
    categories,
    categoryBySlug: (slug: string) => categories.find((c) => c.slug === slug),
    categoryById: (id: number) => categories.find((c) => c.id === id),
    listProducts: () => allProducts.all().map(toProduct),
    listByCategory: (categoryId: number) => byCategory.all(categoryId).map(toProduct),
    productBySlug: (slug: string) => {
      const row = bySlug.get(slug);
      return row ? toProduct(row) : undefined;
    },
    productById: (id: number) => {
      const row = byId.get(id);
      return row ? toProduct(row) : undefined;
    },
    /** The products of a cart, by ID (one indexed lookup per line: a cart has at most a few dozen). */
    productsByIds(ids: readonly number[]): Map<number, Product> {
      const map = new Map<number, Product>();
      for (const id of ids) {
        const row = byId.get(id);
        if (row) map.set(id, toProduct(row));
      }
      return map;
    },
    search: (q: string) => search.all({ q: likePattern(q) }).map(toProduct),
  });
}
