/**
 * Catalog data access: categories and products, read-only for the shop (checkout lowers
 * stock in orders.ts). Written once against Sql (src/db/sql.ts): the same SELECTs run on SQLite
 * and on PostgreSQL (the SQLite runner prepares each text once and keeps it).
 */
import { translatingUnavailable } from "../db/unavailable.ts";
import type { Sql } from "../db/sql.ts";

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

export type Catalog = Awaited<ReturnType<typeof createCatalog>>;

const COLUMNS = "id, category_id, slug, name, description, image, price_cents, stock";

export async function createCatalog(db: Sql) {
  // Categories do not change while the shop runs: read them once, not on every page's nav.
  const categories = await db.all<Category>("SELECT id, slug, name, blurb FROM categories ORDER BY id");
  const productWhere = async (where: string, param: unknown) => {
    const row = await db.get<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE ${where}`, [param]);
    return row ? toProduct(row) : undefined;
  };

  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  // (PostgreSQL's runner translates its own failures.)
  return translatingUnavailable({
    categories,
    categoryBySlug: (slug: string) => categories.find((c) => c.slug === slug),
    categoryById: (id: number) => categories.find((c) => c.id === id),
    listProducts: async () => (await db.all<ProductRow>(`SELECT ${COLUMNS} FROM products ORDER BY category_id, id`)).map(toProduct),
    listByCategory: async (categoryId: number) =>
      (await db.all<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE category_id = ? ORDER BY id`, [categoryId])).map(toProduct),
    productBySlug: (slug: string) => productWhere("slug = ?", slug),
    productById: (id: number) => productWhere("id = ?", id),
    /** The products of a cart, by ID: one query for the whole cart (`id IN (?, ?, …)`). */
    async productsByIds(ids: readonly number[]): Promise<Map<number, Product>> {
      const map = new Map<number, Product>();
      const unique = [...new Set(ids)];
      if (unique.length === 0) return map;
      const rows = await db.all<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id IN (${unique.map(() => "?").join(", ")})`, unique);
      for (const row of rows) map.set(row.id, toProduct(row));
      return map;
    },
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    search: async (q: string) => {
      const pattern = likePattern(q.toLowerCase());
      const rows = await db.all<ProductRow>(
        `SELECT ${COLUMNS} FROM products
          WHERE lower(name) LIKE ? ESCAPE '\\' OR lower(description) LIKE ? ESCAPE '\\'
          ORDER BY (lower(name) LIKE ? ESCAPE '\\') DESC, name LIMIT 60`,
        [pattern, pattern, pattern],
      );
      return rows.map(toProduct);
    },
  });
}
