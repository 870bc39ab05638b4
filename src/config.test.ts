import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, readConfig } from "./config.ts";

const secret = "s".repeat(32);

describe("readConfig", () => {
  it("has documented defaults for development", () => {
    const c = readConfig({}, "/app");
    assert.equal(c.port, 3000);
    assert.equal(c.databasePath, "/app/db/shop.sqlite");
    assert.equal(c.idleTimeoutMs, 1_800_000);
    assert.equal(c.absoluteTimeoutMs, 604_800_000);
    assert.equal(c.cleanupIntervalMs, 60_000);
    assert.equal(c.cookieSecure, false);
    assert.equal(c.cookieName, "shop_sid");
    assert.equal(c.trustProxy, false);
    assert.equal(c.sessionSecretsGenerated, true, "development without secrets: a generated one, flagged");
    assert.equal(c.sessionSecrets[0]!.length >= 32, true);
    assert.ok(Object.isFrozen(c));
  });

  it("takes the PostgreSQL technique's database, deadline and pool, and names what is wrong with bad ones", () => {
    const c = readConfig(
      { SESSION_STORE: "postgres", DATABASE_URL: "postgresql://shop@db.internal:5432/shop", PG_QUERY_DEADLINE_MS: "800", PG_POOL_MAX: "4" },
      "/app",
    );
    assert.equal(c.sessionStore, "postgres");
    assert.equal(c.databaseUrl, "postgresql://shop@db.internal:5432/shop");
    assert.equal(c.pgQueryDeadlineMs, 800);
    assert.equal(c.pgPoolMax, 4);
    assert.equal(readConfig({}, "/app").pgQueryDeadlineMs, 1500, "the README's default");
    for (const [env, message] of [
      [{ DATABASE_URL: "mysql://x/y" }, /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//],
      [{ PG_QUERY_DEADLINE_MS: "0" }, /PG_QUERY_DEADLINE_MS must be between 50 and 10000/],
      [{ PG_POOL_MAX: "lots" }, /PG_POOL_MAX must be a whole number/],
    ] as const) {
      assert.throws(
        () => readConfig(env, "/app"),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
    }
  });

  it("refuses to start in production without SESSION_SECRETS", () => {
    assert.throws(
      () => readConfig({ NODE_ENV: "production" }, "/app"),
      (e: Error) => e instanceof ConfigError && /SESSION_SECRETS is required in production/.test(e.message),
    );
  });

  it("without keepDevSecret, a generated secret lasts one run only (tests, scripts)", () => {
    assert.notEqual(readConfig({}, "/app").sessionSecrets[0], readConfig({}, "/app").sessionSecrets[0]);
    assert.equal(readConfig({}, "/app").sessionSecretFile, undefined);
  });

  it("with keepDevSecret, keeps one secret in a 0600 file beside the database and replaces a damaged one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-"));
    try {
      const env = { DATABASE_PATH: path.join(dir, "data", "shop.sqlite") };
      const first = readConfig(env, "/app", { keepDevSecret: true });
      assert.equal(first.sessionSecretFile, path.join(dir, "data", ".session-secret"));
      assert.equal(fs.statSync(first.sessionSecretFile!).mode & 0o777, 0o600);
      assert.equal(readConfig(env, "/app", { keepDevSecret: true }).sessionSecrets[0], first.sessionSecrets[0]);
      fs.writeFileSync(first.sessionSecretFile!, "short\n");
      const replaced = readConfig(env, "/app", { keepDevSecret: true }).sessionSecrets[0]!;
      assert.ok(replaced.length >= 32 && replaced !== "short", "a too-short kept secret is never used");
      assert.deepEqual(fs.readdirSync(path.join(dir, "data")), [".session-secret"], "no temporary files are left behind");
      assert.deepEqual(readConfig({ ...env, SESSION_SECRETS: secret }, "/app", { keepDevSecret: true }).sessionSecrets, [secret], "SESSION_SECRETS wins");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a comma-separated secret list, first signs, and refuses short secrets", () => {
    const c = readConfig({ SESSION_SECRETS: ` ${secret}a , ${secret}b ` }, "/app");
    assert.deepEqual(c.sessionSecrets, [`${secret}a`, `${secret}b`]);
    assert.throws(() => readConfig({ SESSION_SECRETS: `${secret},short` }, "/app"), /secret #2 is shorter than 32 characters/);
  });

  it("accepts the classroom timeouts and says clearly what is wrong with bad values", () => {
    const c = readConfig({ SESSION_IDLE_SECONDS: "60", SESSION_ABSOLUTE_SECONDS: "300", SESSION_CLEANUP_SECONDS: "10" }, "/app");
    assert.equal(c.idleTimeoutMs, 60_000);
    assert.equal(c.absoluteTimeoutMs, 300_000);
    assert.equal(c.cleanupIntervalMs, 10_000);
    assert.equal(c.touchIntervalMs, 6_000, "a short idle timeout still slides often enough");
    assert.throws(() => readConfig({ PORT: "eighty" }, "/app"), /PORT: PORT must be a whole number/);
    assert.throws(() => readConfig({ PORT: "70000" }, "/app"), /PORT must be between 0 and 65535/);
    assert.throws(() => readConfig({ SESSION_IDLE_SECONDS: "-5" }, "/app"), /SESSION_IDLE_SECONDS/);
    assert.throws(() => readConfig({ SESSION_IDLE_SECONDS: "600", SESSION_ABSOLUTE_SECONDS: "300" }, "/app"), /at least SESSION_IDLE_SECONDS/);
    assert.throws(() => readConfig({ COOKIE_SECURE: "maybe" }, "/app"), /COOKIE_SECURE must be true or false/);
  });

  it("takes a store module's path as SESSION_STORE (a student's store), and refuses a missing file, a bad name and production", () => {
    const root = path.resolve(import.meta.dirname, "..");
    const c = readConfig({ SESSION_STORE: "./exercises/01-memory-store/start.ts" }, root);
    assert.equal(c.sessionStore, "student");
    assert.equal(c.studentStorePath, path.join(root, "exercises/01-memory-store/start.ts"));
    assert.equal(readConfig({}, root).studentStorePath, null);
    assert.throws(() => readConfig({ SESSION_STORE: "./no-such-store.ts" }, root), /SESSION_STORE=\.\/no-such-store\.ts: there is no such file/);
    assert.throws(
      () => readConfig({ SESSION_STORE: "mongo" }, root),
      /SESSION_STORE must be one of sqlite, memory, cookie, redis, postgres, or the path of a store module/,
    );
    assert.throws(
      () => readConfig({ NODE_ENV: "production", SESSION_SECRETS: secret, SESSION_STORE: "./exercises/01-memory-store/start.ts" }, root),
      /for the classroom's exercises, not for production/,
    );
  });

  it("switches to Secure cookies with the __Host- prefix for HTTPS, and takes a bounded TRUST_PROXY", () => {
    const c = readConfig({ COOKIE_SECURE: "true", TRUST_PROXY: "1" }, "/app");
    assert.equal(c.cookieSecure, true);
    assert.equal(c.cookieName, "__Host-shop_sid");
    assert.equal(c.trustProxy, 1);
    assert.equal(readConfig({ TRUST_PROXY: "loopback" }, "/app").trustProxy, "loopback");
    assert.throws(() => readConfig({ TRUST_PROXY: "true" }, "/app"), /trusts every proxy hop/);
  });
});
