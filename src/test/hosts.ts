/**
 * Several hosts on this one machine, for real: a Linux bridge, and one network namespace per host
 * (`ip netns`), each joined to the bridge by a veth pair, with its own address in a private /24.
 *
 *   test process, nginx (root namespace, 10.X.Y.1 on the bridge)
 *     ├── data host  10.X.Y.2   PostgreSQL :5432 (trust for the subnet) and redis-server :6379 (AOF, fsync always)
 *     ├── app host a 10.X.Y.10  node src/server.ts :3000
 *     ├── app host b 10.X.Y.11  …
 *     └── app host c 10.X.Y.12
 *
 * Every process is the real one (`ip netns exec <ns> node src/server.ts`), so a host can be cut
 * off (`ip link set <its veth> down`: a pulled cable, no reset, packets just vanish) or killed
 * (`kill -9`), and the data host's servers restarted, while shoppers keep going.
 *
 * The shop's own data (catalog, accounts, orders, stock) is on the data host's PostgreSQL too
 * (DATA_STORE=postgres, the same database as the PostgreSQL technique's sessions), as it would be
 * across machines; each app host keeps its own local SQLite file for what stays local. `shopData:
 * "sqlite"` instead makes the app hosts share one SQLite file (processes of one machine, so that
 * works; WAL's shared memory does not care about network namespaces): `shopDataEnv` is the one
 * place that says where the data is.
 *
 * Needs root (creating namespaces and links), iproute2, Debian's postgresql, redis-server and
 * nginx. Without them it throws, saying which is missing: the test fails, never skips.
 *
 * Names: every namespace and link starts with `shost` and a 4-character run ID (interface names
 * stay ≤ 15 characters); the subnet is random and checked against the machine's addresses, so test
 * files or a benchmark running at once never collide. Each run records its process ID in
 * /tmp/stateful-shop-hosts/; a run that finds namespaces or links of a run whose process is gone
 * (killed before its cleanup) removes them first.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { addTestProducts, freshDatabase, root, SECRET_A } from "./harness.ts";
import { startNginx } from "./nginx.ts";
import { postgresBinDir, runAs } from "./postgres-server.ts";

const PREFIX = "shost";
const REGISTRY = path.join(os.tmpdir(), "stateful-shop-hosts");
const REDIS_BINARY = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p));
const APP_PORT = 3000;

/** `ip …`, its error output in the exception when it fails. */
function ip(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** The same, for tidying up: whatever fails (already gone) is ignored. */
function ipQuiet(...args: string[]) {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** Why this machine cannot run several hosts, or null when it can. */
function cannotCreateNamespaces(): string | null {
  if (process.getuid?.() !== 0)
    return "these tests create network namespaces and links (ip netns add, ip link add), which needs root: run them as root, as CI does";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "the `ip` command (iproute2) is not installed: apt-get install iproute2";
  }
  if (!postgresBinDir) return "PostgreSQL is not installed (the data host runs it): apt-get install postgresql";
  if (!REDIS_BINARY) return "redis-server is not installed (the data host runs it): apt-get install redis-server";
  return null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Everything of run `id`: its processes (in its namespaces), namespaces, links, files. Synchronous: also runs at process exit. */
function removeRun(id: string) {
  const namespaces = ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-${id}-`));
  for (const ns of namespaces) {
    let pids: string[] = [];
    try {
      pids = ip("netns", "pids", ns).split("\n").filter(Boolean);
    } catch {
      // gone meanwhile
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    ipQuiet("netns", "del", ns);
  }
  for (const link of ip("-o", "link", "show")
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => n?.startsWith(`${PREFIX}${id}`) === true))
    ipQuiet("link", "del", link);
  const record = path.join(REGISTRY, `${id}.json`);
  let dir: string | null = null;
  try {
    dir = (JSON.parse(fs.readFileSync(record, "utf8")) as { dir: string }).dir;
  } catch {
    // no record: nothing more is known of that run
  }
  if (dir) {
    // nginx runs in the root namespace: found by its folder, which is inside the run's.
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        if (Number(pid) !== process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(Number(pid), "SIGKILL");
      } catch {
        // exited meanwhile, or not ours to read
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(record, { force: true });
}

/** Runs whose process has ended without tidying up (kill -9, a crash): their namespaces and links would be left forever. */
function removeStaleRuns() {
  const ids = new Set<string>();
  for (const n of ip("netns", "list").split("\n")) {
    const m = new RegExp(`^${PREFIX}-([a-z0-9]{4})-`).exec(n);
    if (m) ids.add(m[1]!);
  }
  for (const l of ip("-o", "link", "show").split("\n")) {
    const m = new RegExp(`^\\d+: ${PREFIX}([a-z0-9]{4})`).exec(l);
    if (m) ids.add(m[1]!);
  }
  for (const id of ids) {
    let owner: number | null = null;
    try {
      owner = (JSON.parse(fs.readFileSync(path.join(REGISTRY, `${id}.json`), "utf8")) as { pid: number }).pid;
    } catch {
      // no record: nobody owns it
    }
    if (owner === null || !alive(owner)) removeRun(id);
  }
}

/** A private /24 nobody on this machine uses: 10.X.Y.0, X in 200–249. */
function freeSubnet(): string {
  const used = ip("-4", "-o", "addr", "show") + ip("-4", "route", "show");
  for (let i = 0; i < 100; i++) {
    const prefix = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error("no free 10.x.y.0/24 subnet");
}

async function until(what: string, check: () => Promise<boolean>, { timeoutMs = 30_000, child }: { timeoutMs?: number; child?: ChildProcess } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode})`);
    await sleep(25);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

const answersPing = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
  });

const exited = (c: ChildProcess | null) => !c || c.exitCode !== null || c.signalCode !== null;

async function signalAndWait(c: ChildProcess | null, signal: NodeJS.Signals) {
  if (!c || exited(c)) return;
  const done = new Promise((r) => c.once("exit", r));
  c.kill(signal);
  await done;
}

export type Technique = "postgres" | "redis";

export interface AppHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** http://address:3000, straight to this host (not through nginx). */
  readonly url: string;
  /** The shop process's ID (`ip netns exec` execs node: the same process), or null when none runs. */
  readonly pid: number | null;
  /** Start the shop on this host (`env` over the common one) and wait until it is ready. */
  start(env?: Record<string, string>): Promise<void>;
  /** kill -9: no drain, no goodbye; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, the drain, exit. */
  stop(): Promise<void>;
  /** `ip link set <veth> down`: the host is off the network (clients, nginx and the data host alike). */
  cut(): void;
  restore(): void;
  /** What the shop process printed (warnings and errors: LOG_LEVEL=warn). */
  output(): string;
}

export type Hosts = Awaited<ReturnType<typeof startHosts>>;

/**
 * The bridge, the data host (PostgreSQL and Redis running), `appHosts` app host namespaces (no shop
 * running yet: `startShops`), nginx in front of them. Call `close()` in `after`.
 */
export async function startHosts({ appHosts = 3, shopData: where = "postgres" }: { appHosts?: number; shopData?: "postgres" | "sqlite" } = {}) {
  const why = cannotCreateNamespaces();
  if (why) throw new Error(`Cannot build the several-hosts network on this machine: ${why}.`);
  fs.mkdirSync(REGISTRY, { recursive: true });
  removeStaleRuns();

  const id = randomBytes(3).readUIntBE(0, 3).toString(36).padStart(4, "0").slice(-4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hosts-${id}-`));
  fs.chmodSync(dir, 0o711); // the postgres user must reach its own folder inside
  fs.writeFileSync(path.join(REGISTRY, `${id}.json`), JSON.stringify({ pid: process.pid, dir }));
  const tidy = () => removeRun(id);
  process.once("exit", tidy); // a test process that ends without `close()` still leaves nothing behind

  const subnet = freeSubnet();
  const bridge = `${PREFIX}${id}br`;
  const bridgeAddress = `${subnet}.1`;
  const children: ChildProcess[] = [];
  try {
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${bridgeAddress}/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
  } catch (error) {
    tidy();
    throw new Error(`Cannot build the several-hosts network on this machine: ${(error as Error).message}`);
  }
  /** A namespace joined to the bridge: its end of the veth pair is eth0, ours is `veth`. */
  const addHost = (role: string, address: string) => {
    const namespace = `${PREFIX}-${id}-${role}`;
    const veth = `${PREFIX}${id}${role}`;
    ip("netns", "add", namespace);
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace);
    ip("link", "set", veth, "master", bridge, "up");
    ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0");
    ip("-n", namespace, "link", "set", "eth0", "up");
    ip("-n", namespace, "link", "set", "lo", "up");
    return { namespace, veth };
  };

  try {
    // ——— the data host: PostgreSQL and Redis on 10.X.Y.2 ———
    const dataAddress = `${subnet}.2`;
    const data = addHost("d", dataAddress);
    const user = runAs();
    const pgDir = path.join(dir, "pg");
    fs.mkdirSync(pgDir);
    if (user.uid !== undefined) fs.chownSync(pgDir, user.uid, user.gid!);
    const pgData = path.join(pgDir, "data");
    execFileSync(path.join(postgresBinDir!, "initdb"), ["-D", pgData, "-U", "app", "-A", "trust", "-N", "-E", "UTF8", "--no-locale"], {
      ...user,
      stdio: ["ignore", "ignore", "pipe"],
    });
    // Trust over TCP for the test subnet only (initdb's file trusts loopback and the socket).
    fs.appendFileSync(path.join(pgData, "pg_hba.conf"), `host all all ${subnet}.0/24 trust\n`);
    const pgUrl = `postgres://app@${dataAddress}:5432/postgres`;
    let postmaster: ChildProcess | null = null;
    const pgAnswers = async () => {
      const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 500 });
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
    const asPostgres = process.getuid?.() === 0 ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] : [];
    const startPostgres = async () => {
      // `ip netns exec` and setpriv each exec the next program: the child is the postmaster itself, so signals reach it.
      const settings = `-p 5432 -c listen_addresses=${dataAddress} -F -c full_page_writes=off -c max_connections=200`.split(" ");
      postmaster = spawn(
        "ip",
        ["netns", "exec", data.namespace, ...asPostgres, path.join(postgresBinDir!, "postgres"), "-D", pgData, "-k", pgDir, ...settings],
        {
          stdio: ["ignore", "ignore", fs.openSync(path.join(pgDir, "log"), "a")],
        },
      );
      children.push(postmaster);
      await until("PostgreSQL on the data host", pgAnswers, { child: postmaster }).catch((error: Error) => {
        throw new Error(`${error.message}\n${fs.readFileSync(path.join(pgDir, "log"), "utf8").slice(-2000)}`);
      });
    };
    /** pg_ctl stop -m fast (SIGINT: roll back, disconnect, checkpoint) or -m immediate (SIGQUIT: like a crash, recovery at the next start). */
    const stopPostgres = (mode: "fast" | "immediate") => signalAndWait(postmaster, mode === "fast" ? "SIGINT" : "SIGQUIT");
    await startPostgres();

    const redisDir = path.join(dir, "redis");
    fs.mkdirSync(redisDir);
    const redisUrl = `redis://${dataAddress}:6379`;
    let redisServer: ChildProcess | null = null;
    const startRedis = async () => {
      // Append-only, fsynced on every write: a restart keeps every acknowledged write. Protected mode
      // off: without a password it refuses every client but loopback, and the app hosts are other
      // hosts (the server is reachable on the test's own bridge only).
      const settings = `--port 6379 --bind ${dataAddress} --protected-mode no --appendonly yes --appendfsync always`.split(" ");
      redisServer = spawn("ip", ["netns", "exec", data.namespace, REDIS_BINARY!, ...settings, "--save", "", "--dir", redisDir], { stdio: "ignore" });
      children.push(redisServer);
      await until("redis-server on the data host", () => answersPing(dataAddress, 6379), { child: redisServer });
    };
    await startRedis();

    // ——— the shop's own data (see the opening comment): the data host's PostgreSQL, or one shared SQLite file ———
    const shared = where === "sqlite" ? freshDatabase(fs.mkdtempSync(path.join(dir, "shop-"))) : null;
    /** Where the shop keeps catalog, accounts, orders and stock: the one env setting that moves it. */
    const shopDataEnv: Record<string, string> = shared ? { DATABASE_PATH: shared.file } : { DATA_STORE: "postgres" };
    const query = async <R>(text: string, params: unknown[] = []): Promise<R[]> => {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as R[];
      } finally {
        await client.end();
      }
    };
    const shopData = {
      where,
      /** Products 1001… with 1,000 in stock each (idempotent). On PostgreSQL: once a shop has started (it migrates and seeds). */
      async addTestProducts(count: number): Promise<number[]> {
        if (shared) return addTestProducts(shared.db, count);
        const ids = Array.from({ length: count }, (_, i) => 1001 + i);
        await query(
          `INSERT INTO products (id, category_id, slug, name, description, image, price_cents, stock)
           SELECT id, 1, 'test-product-' || id, 'Test Product ' || id, 'A test product.', 'ceramic-teapot.svg', 100, 1000 FROM unnest($1::int[]) AS id
           ON CONFLICT (id) DO NOTHING`,
          [ids],
        );
        return ids;
      },
      /** The IDs of the orders a checkout token placed. */
      async ordersFor(token: string): Promise<number[]> {
        if (shared) return (shared.db.prepare("SELECT id FROM orders WHERE checkout_token = ? ORDER BY id").all(token) as { id: number }[]).map((r) => r.id);
        return (await query<{ id: number }>("SELECT id FROM orders WHERE checkout_token = $1 ORDER BY id", [token])).map((r) => r.id);
      },
    };

    // ——— the app hosts: 10.X.Y.10, .11, … ———
    const apps: AppHost[] = Array.from({ length: appHosts }, (_, i) => {
      const name = String.fromCharCode(97 + i); // a, b, c
      const address = `${subnet}.${10 + i}`;
      const { namespace, veth } = addHost(name, address);
      let child: ChildProcess | null = null;
      let output = "";
      let lastEnv: Record<string, string> = {};
      const url = `http://${address}:${APP_PORT}`;
      const ready = async () => {
        try {
          return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).status === 200;
        } catch {
          return false;
        }
      };
      return {
        name,
        namespace,
        address,
        url,
        get pid() {
          return exited(child) ? null : child!.pid!;
        },
        async start(env = lastEnv) {
          lastEnv = env;
          output = "";
          child = spawn("ip", ["netns", "exec", namespace, process.execPath, "src/server.ts"], {
            cwd: root,
            stdio: ["ignore", "pipe", "pipe"],
            env: {
              ...process.env,
              PORT: String(APP_PORT),
              HOST: address,
              SESSION_SECRETS: SECRET_A, // the same on every host: any host accepts a cookie another signed
              INSTANCE_NAME: `host-${name}`,
              TRUST_PROXY: "1",
              // Every shopper of the test comes from one address (the bridge's, or nginx's): no per-address cap.
              NEW_SESSIONS_PER_CLIENT: "0",
              LOG_LEVEL: "warn",
              DATABASE_URL: pgUrl,
              REDIS_URL: redisUrl,
              DATABASE_PATH: path.join(dir, `host-${name}.sqlite`), // this host's own disk (what stays local)
              ...shopDataEnv,
              ...env,
            },
          });
          children.push(child);
          child.stdout!.on("data", (d) => (output += d));
          child.stderr!.on("data", (d) => (output += d));
          await until(`the shop on host ${name}`, ready, { child }).catch((error: Error) => {
            throw new Error(`${error.message}\n${output.slice(-2000)}`);
          });
        },
        kill: () => signalAndWait(child, "SIGKILL"),
        stop: () => signalAndWait(child, "SIGTERM"),
        cut: () => ip("link", "set", veth, "down"),
        restore: () => ip("link", "set", veth, "up"),
        output: () => output,
      } satisfies AppHost;
    });

    // ——— nginx in front, in the root namespace, round robin over the app hosts ———
    // Started once the shops answer: a request that finds no host running would set them all
    // aside for 10 s (nginx's max_fails=1 fail_timeout=10s, kept: it is what sets a dead host aside).
    let nginx: Awaited<ReturnType<typeof startNginx>> | null = null;
    const nginxDir = fs.mkdtempSync(path.join(dir, "nginx-"));
    const startBalancer = async () => {
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
          const { port } = s.address() as net.AddressInfo;
          s.close(() => resolve(port));
        });
      });
      nginx = await startNginx(
        port,
        apps.map((a) => `${a.address}:${APP_PORT}`),
        { dir: nginxDir, stdio: "ignore", connectTimeoutMs: 1_000, readTimeoutMs: 10_000 },
      );
      children.push(nginx.child);
    };

    return {
      id,
      subnet,
      bridgeAddress,
      dataAddress,
      apps,
      /** nginx on 127.0.0.1 (started by `startShops`). */
      get nginx() {
        if (!nginx) throw new Error("nginx starts with the shops: call startShops first");
        return nginx;
      },
      shopData,
      shopDataEnv,
      postgres: {
        url: pgUrl,
        get pid() {
          return exited(postmaster) ? null : postmaster!.pid!;
        },
        start: startPostgres,
        stop: stopPostgres,
        async restart(mode: "fast" | "immediate") {
          await stopPostgres(mode);
          await startPostgres();
        },
      },
      redis: {
        url: redisUrl,
        start: startRedis,
        stop: () => signalAndWait(redisServer, "SIGTERM"),
        kill: () => signalAndWait(redisServer, "SIGKILL"),
      },
      /** Every app host running the shop with `technique`'s sessions (the previous shops stopped first). */
      async startShops(technique: Technique, env: Record<string, string> = {}) {
        await nginx?.close();
        nginx = null;
        await Promise.all(apps.map((a) => a.stop()));
        for (const a of apps) a.restore();
        // The first alone (it creates the sessions table; the others would wait on its advisory lock), then the rest at once.
        const [first, ...rest] = apps;
        await first!.start({ SESSION_STORE: technique, ...env });
        await Promise.all(rest.map((a) => a.start({ SESSION_STORE: technique, ...env })));
        await startBalancer();
      },
      async close() {
        process.removeListener("exit", tidy);
        await nginx?.close().catch(() => {});
        for (const a of apps) a.restore(); // a cut host drains quickly too
        await Promise.all(apps.map((a) => a.stop().catch(() => {})));
        await signalAndWait(postmaster, "SIGQUIT");
        await signalAndWait(redisServer, "SIGKILL");
        shared?.db.close();
        tidy();
      },
    };
  } catch (error) {
    for (const c of children) if (!exited(c)) c.kill("SIGKILL");
    tidy();
    throw error;
  }
}
