import { Router } from "express";
import { MAX_QUERY_LENGTH } from "../catalog/catalog.ts";
import { badRequest, notFound } from "../errors.ts";
import type { RouteDeps } from "./deps.ts";

export function catalogRoutes({ catalog }: RouteDeps): Router {
  const router = Router();

  router.get("/", async (req, res) => {
    const raw = req.query.q;
    if (raw !== undefined && typeof raw !== "string") throw badRequest("Search for one thing at a time.");
    const q = (raw ?? "").trim();
    if (q.length > MAX_QUERY_LENGTH) throw badRequest(`Search terms can be at most ${MAX_QUERY_LENGTH} characters long.`);
    if (q) {
      res.render("search", { title: `Search: ${q}`, q, products: await catalog.search(q) });
      return;
    }
    res.render("home", {
      title: "Stateful Shop",
      description: "Teapots, mugs, linens and more: browse the Stateful Shop catalog, fill a cart and see how the session behind it works.",
      products: await catalog.listProducts(),
    });
  });

  router.get("/categories/:slug", async (req, res) => {
    const category = catalog.categoryBySlug(req.params.slug);
    if (!category) throw notFound("category");
    res.render("category", {
      title: category.name,
      description: `${category.name} at Stateful Shop: every product in the category, with prices and stock.`,
      category,
      products: await catalog.listByCategory(category.id),
    });
  });

  router.get("/products/:slug", async (req, res) => {
    const product = await catalog.productBySlug(req.params.slug);
    if (!product) throw notFound("product");
    res.render("product", {
      title: product.name,
      description: product.description.length > 155 ? `${product.description.slice(0, 152)}…` : product.description,
      product,
      category: catalog.categoryById(product.categoryId),
    });
  });

  return router;
}
