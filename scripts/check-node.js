// Run by npm before every script that starts the shop or its tests (the "pre…" entries in
// package.json). Why a separate plain-JavaScript file: on an older Node the TypeScript entry points
// fail before any of our code runs (ERR_UNKNOWN_FILE_EXTENSION ".ts", a stack trace that says
// nothing about Node's version), so the check must be something every Node can load. It uses no
// syntax newer than ES2015 for the same reason.
//
// `node scripts/check-node.js` checks the running Node; `node scripts/check-node.js 20.20.2`
// checks the given version instead (what its test does).

var version = process.argv[2] || process.versions.node;
var parts = String(version).replace(/^v/, "").split(".");
var major = Number(parts[0]);
var minor = Number(parts[1] || 0);

// The same range as package.json's "engines": Node runs .ts files by stripping their types by
// default from 22.18 and 23.6 on; 24 is the LTS we test on, 22.18+ is tested too (CI runs both).
var supported = (major === 22 && minor >= 18) || major >= 24;

if (!supported) {
  console.error(
    "Stateful Shop needs Node.js 24 (or 22.18 or later), but this is Node " +
      version +
      ": install it with `nvm install` (this folder's .nvmrc names 24), fnm, Volta or from https://nodejs.org, then run `npm ci` again.",
  );
  process.exit(1);
}
