/**
 * The figures tables in the docs, generated from bench/results/*.json so that the prose and the
 * runs cannot disagree. Each table sits between two markers in its Markdown file:
 *
 *   <!-- generated: speedups (node scripts/doc-tables.ts) -->  …  <!-- end: speedups -->
 *
 *   node scripts/doc-tables.ts           rewrite the tables from the JSON
 *   node scripts/doc-tables.ts --check   exit 1 when a table differs from its JSON (doc-tables.test.ts does this)
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

type Route = { savedUs: number; quartiles: [number, number]; range: [number, number]; withUs: number };
type Run = { speedup: string; date: string; slices: number; tree?: string; routes: Record<string, Route> };

/** The rule of issue 24: kept when it saves ≥ 5 µs of CPU per request on a shopper's route, more than the noise (lower quartile above 0). */
export const MIN_SAVING_US = 5;
export const earnsItsPlace = (run: Run) => Object.values(run.routes).some((r) => r.savedUs >= MIN_SAVING_US && r.quartiles[0] > 0);

const WHAT: Record<string, string> = {
  groupCommit: "group commit (`src/db/group-commit.ts`)",
  rememberedSeals: "remembered seals (`src/session/speed/remembered-seals.ts`)",
  rememberedCookie: "remembered cookie (`src/session/speed/remembered-cookie.ts`)",
  lazyCookies: "lazy cookie-parser (`src/middleware/cookies.ts`)",
  pooledNonces: "pooled nonces (`src/session/speed/nonces.ts`)",
  readCache: "SQLite read cache + `data_version` guard (`record-cache.ts`)",
  "rememberedCookie,lazyCookies": "both cookie speed-ups (vs cookie-parser on every request)",
};

function speedupsTable(): string {
  const runs = Object.values(JSON.parse(fs.readFileSync(path.join(root, "bench/results/speedups.json"), "utf8")) as Record<string, Run>);
  const routes = ["cart page", "catalog page", "add to cart"];
  const cell = (r: Route | undefined) => (r ? `${r.savedUs} (${r.quartiles[0]}…${r.quartiles[1]})` : "—");
  const rows = runs.map((run) => {
    const verdict = earnsItsPlace(run) ? "**kept**" : "removed";
    const when = `${run.date.slice(0, 10)}, ${run.slices} slices${run.tree ? `, on ${run.tree}` : ""}`;
    return `| ${WHAT[run.speedup] ?? run.speedup} | ${routes.map((name) => cell(run.routes[name])).join(" | ")} | ${verdict} | ${when} |`;
  });
  return [`| speed-up | cart page | catalog page | add to cart (2 writes) | verdict | measured |`, `| --- | --- | --- | --- | --- | --- |`, ...rows].join("\n");
}

const TABLES: Record<string, { file: string; render: () => string }> = {
  speedups: { file: "docs/performance.md", render: speedupsTable },
};

/** Each file's text with its tables as the JSON says: [file, current, wanted]. */
export function docTables(): [string, string, string][] {
  const byFile = new Map<string, string>();
  for (const [name, { file, render }] of Object.entries(TABLES)) {
    const text = byFile.get(file) ?? fs.readFileSync(path.join(root, file), "utf8");
    const begin = `<!-- generated: ${name} (node scripts/doc-tables.ts) -->`;
    const end = `<!-- end: ${name} -->`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from === -1 || to < from) throw new Error(`${file}: the markers of the ${name} table are missing`);
    byFile.set(file, `${text.slice(0, from + begin.length)}\n${render()}\n${text.slice(to)}`);
  }
  return [...byFile].map(([file, wanted]) => [file, fs.readFileSync(path.join(root, file), "utf8"), wanted]);
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [file, current, wanted] of docTables()) {
    if (current === wanted) continue;
    stale++;
    if (check) console.error(`${file}: a generated table differs from bench/results (run node scripts/doc-tables.ts)`);
    else fs.writeFileSync(path.join(root, file), wanted);
  }
  if (check && stale > 0) process.exit(1);
}
