import { Router } from "express";
import { MAX_QUERY_LENGTH } from "../catalog/catalog.js";
import { badRequest, notFound } from "../errors.js";
import type { RouteDeps } from "./deps.js";

export function catalogRoutes({ catalog }: RouteDeps): Router {
  const router = Router();

  router.get("/", (req, res) => {
    const raw = req.query.q;
    if (raw !== undefined && typeof raw !== "string") throw badRequest("Search for one thing at a time.");
    const q = (raw ?? "").trim();
    if (q.length > MAX_QUERY_LENGTH) throw badRequest(`Search terms can be at most ${MAX_QUERY_LENGTH} characters long.`);
    if (q) {
      res.render("search", { title: `Search: ${q}`, q, products: catalog.search(q) });
      return;
    }
    res.render("home", { title: "Stateful Shop", products: catalog.listProducts() });
  });

  router.get("/categories/:slug", (req, res) => {
    const category = catalog.categoryBySlug(req.params.slug);
    if (!category) throw notFound("category");
    res.render("category", { title: category.name, category, products: catalog.listByCategory(category.id) });
  });

  router.get("/products/:slug", (req, res) => {
    const product = catalog.productBySlug(req.params.slug);
    if (!product) throw notFound("product");
    res.render("product", { title: product.name, product, category: catalog.categoryById(product.categoryId) });
  });

  return router;
}
