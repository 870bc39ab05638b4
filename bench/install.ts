/**
 * The benchmark's peers (express-session and its stores, cookie-session, autocannon) live in their
 * own package so the shop's `npm ci` stays small and fast: connect-sqlite3 alone pulls `sqlite3`,
 * a native build of minutes. Every `npm run bench*` script runs this first; it installs
 * bench/node_modules once (again when bench/package-lock.json changes) and type-checks the
 * benchmark code against those packages.
 *
 *   node bench/install.ts
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(bench, "..");
const lock = path.join(bench, "package-lock.json");
const stamp = path.join(bench, "node_modules", ".installed-lock");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const wanted = fs.readFileSync(lock, "utf8");
const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8") : "";
if (have !== wanted) {
  // sqlite3 (connect-sqlite3's driver) has no prebuilt binary reachable here, so node-gyp builds it:
  // point it at the running Node's own headers when they ship with it (Node installed from the npm
  // registry carries them), so the build needs no download.
  const env = { ...process.env };
  const headers = path.resolve(path.dirname(process.execPath), "..", "include", "node");
  const npmNode = path.resolve(path.dirname(process.execPath), "..", "..", "node", "node_modules", `node-${process.platform}-${process.arch}`);
  if (!env.npm_config_nodedir) {
    if (fs.existsSync(path.join(npmNode, "include", "node"))) env.npm_config_nodedir = npmNode;
    else if (fs.existsSync(headers)) env.npm_config_nodedir = path.resolve(headers, "..", "..");
  }
  const started = Date.now();
  console.error("bench: installing the benchmark's peer packages (first run only; sqlite3 builds from source) …");
  execFileSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: bench, stdio: "inherit", env });
  fs.writeFileSync(stamp, wanted);
  console.error(`bench: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
execFileSync(npm, ["exec", "--prefix", root, "--", "tsc", "-p", path.join(bench, "tsconfig.json")], { cwd: root, stdio: "inherit" });
