/**
 * A throwaway PostgreSQL cluster for tests (Debian's postgresql package; `.ci/run` installs it):
 * initdb into a temp dir, then the postmaster as our own child process on 127.0.0.1 and a free
 * port, fsync off (-F: fine for tests, never for the product). Missing binaries = a loud failure
 * naming the package, never a silent skip.
 *
 * One cluster per test file (node --test runs each file in its own process): initdb and start take
 * ≈ 0.7 s, which is cheaper than sharing one cluster between processes (a lockfile, an owner that
 * must stop it last, leftovers after a crash). Inside a file, each store gets its own schema
 * (`schemaOptions`), so tests never see each other's rows.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, initdb and the postmaster run as
 * the `postgres` user the package creates (spawn's uid/gid), in a directory it owns.
 *
 * The postmaster is spawned directly (not through pg_ctl), so the test holds its process and can
 * send the real signals pg_ctl would: SIGINT (restart -m fast), SIGQUIT (-m immediate), SIGSTOP
 * and SIGCONT to the postmaster and all its backends (a frozen server).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { ServerStore } from "../session/directory.ts";
import { freePort } from "./processes.ts";

const BIN = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"].find((d) => fs.existsSync(path.join(d, "initdb")));

/** Where Debian's initdb and postgres are (undefined: not installed). src/test/hosts.ts runs the same binaries in a network namespace. */
export const postgresBinDir = BIN;

/** Whether Debian's postgresql (initdb, postgres) is installed: `npm run classroom` offers the fifth technique only then. */
export const postgresInstalled = () => BIN !== undefined;

/** The uid/gid to run as: the `postgres` user when we are root, else ourselves. */
export function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line)
    throw new Error("Running as root, and there is no `postgres` user to run PostgreSQL as: install Debian's postgresql (apt-get install postgresql).");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export type PostgresServer = Awaited<ReturnType<typeof startPostgresServer>>;

/** `binDir`: where initdb and postgres are (found in Debian's places by default; a test gives a wrong one on purpose). */
export async function startPostgresServer({ binDir = BIN }: { binDir?: string } = {}) {
  if (!binDir || !fs.existsSync(path.join(binDir, "initdb"))) {
    throw new Error("PostgreSQL is not installed: these tests need a real server. Install Debian's postgresql (apt-get install postgresql).");
  }
  const user = runAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-test-"));
  if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
  const data = path.join(dir, "data");
  execFileSync(path.join(binDir, "initdb"), ["-D", data, "-U", "app", "-A", "trust", "-N", "-E", "UTF8", "--no-locale"], { ...user, stdio: "ignore" });
  const port = await freePort();
  const url = `postgres://app@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | null = null;

  const answers = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const start = async () => {
    child = spawn(
      path.join(binDir, "postgres"),
      ["-D", data, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-p", String(port), "-F", "-c", "full_page_writes=off", "-c", "max_connections=200"],
      { ...user, stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "log"), "a")] },
    );
    for (let i = 0; i < 200; i++) {
      if (await answers()) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`postgres did not start on port ${port}: ${fs.readFileSync(path.join(dir, "log"), "utf8").slice(-2000)}`);
  };
  /** Stop with SIGINT (pg_ctl -m fast: roll back, disconnect, checkpoint) or SIGQUIT (-m immediate: like a crash, recovery at the next start). */
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(mode === "fast" ? "SIGINT" : "SIGQUIT");
    await exited;
  };
  /** The postmaster and every backend it forked (connections, checkpointer, …). */
  const processes = (): number[] => {
    const pid = (child as ChildProcess | null)?.pid;
    if (!pid) return [];
    const kids = fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(pid);
        } catch {
          return false;
        }
      })
      .map(Number);
    return [pid, ...kids];
  };
  await start();
  const onExit = () => (child as ChildProcess | null)?.kill("SIGQUIT"); // never leave a server behind if the test process ends abruptly
  process.once("exit", onExit);

  return {
    url,
    port,
    /** Restart as `pg_ctl restart -m fast|immediate` would: stop by that signal, start again on the same port and data. */
    async restart(mode: "fast" | "immediate") {
      await stop(mode);
      await start();
    },
    stop,
    start,
    /** The postmaster and its backends now (the benchmark counts their CPU with the stack that uses them). */
    processes,
    /** SIGSTOP/SIGCONT to the whole server: connections stay open, nothing answers. */
    signal(sig: "SIGSTOP" | "SIGCONT") {
      for (const pid of processes()) {
        try {
          process.kill(pid, sig);
        } catch {
          // a backend that has just exited
        }
      }
    },
    /** A fresh, empty schema: give its `options` to a runner, and everything it creates lands there. */
    async schema() {
      const name = `t_${Math.random().toString(36).slice(2, 10)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE SCHEMA ${name}`);
      await client.end();
      return { name, options: `-c search_path=${name}` };
    },
    /** A fresh, empty database on this cluster: its URL (for a whole shop: DATABASE_URL). */
    async database() {
      const name = `shop_${Math.random().toString(36).slice(2, 10)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async close() {
      process.removeListener("exit", onExit);
      if ((child as ChildProcess | null)?.exitCode === null) this.signal("SIGCONT");
      await stop("immediate");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A store on its own fresh schema of `server`, migrated, with the product's deadlines (the same
 * connectPostgresStore the shop uses). `deadlineMs` as PG_QUERY_DEADLINE_MS.
 */
export async function newPostgresStore(server: PostgresServer, { deadlineMs = 1500, poolMax = 10, url = server.url } = {}) {
  const { connectPostgresStore } = await import("../session/postgres.ts");
  const { root } = await import("./harness.ts");
  const schema = await server.schema();
  return connectPostgresStore({ databaseUrl: url, pgQueryDeadlineMs: deadlineMs, pgPoolMax: poolMax }, root, undefined, { options: schema.options });
}

/**
 * A store usable at once, whose connection is made in the background: every call waits for it.
 * For suites whose `make()` is synchronous (store-contract.test.ts).
 */
export function deferredStore(store: Promise<ServerStore>): ServerStore {
  return new Proxy({} as ServerStore, {
    get: (_, name: keyof ServerStore) =>
      name === "kind" ? "postgres" : (...args: unknown[]) => store.then((s) => (s[name] as (...a: unknown[]) => unknown)(...args)),
  });
}
