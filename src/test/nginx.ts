/**
 * nginx as the scale-out load balancer (Debian's nginx-light), in its own temp dir: round robin
 * over shop instances on loopback, keep-alive connections to them. `npm run scale-demo` and the
 * tests that put instances behind a balancer use this one configuration. Missing binary = a loud
 * failure, never a silent skip.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stopProcess } from "./processes.ts";

export const NGINX_BINARY = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));

/** An instance: a port on 127.0.0.1, or "address:port" (an app host in its own network namespace: src/test/hosts.ts). */
export type Upstream = number | string;

export interface UpstreamOptions {
  /** Instances marked `down`: nginx sends them nothing (a rolling restart's first step). */
  down?: Upstream[];
  /** Idle kept-alive connections per worker (nginx's own examples use 16; the default here). */
  keepalive?: number;
  /**
   * How long nginx waits to connect to an instance, and for its answer (nginx's defaults: 60 s
   * each). A host whose link is down drops the SYN: with 1 s nginx tries the next instance soon
   * (a request it has not sent yet is safe to send elsewhere), instead of a shopper waiting a minute.
   */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
}

const address = (u: Upstream) => (typeof u === "number" ? `127.0.0.1:${u}` : u);

/** The whole nginx.conf: `port` is the balancer, `upstreamPorts` the instances; temp files under `dir`. */
export function nginxConfig(dir: string, port: number, upstreamPorts: Upstream[], options: UpstreamOptions = {}): string {
  const down = new Set(options.down ?? []);
  // Each on a line of its own, after the headers; nothing at all when not asked for.
  const timeouts = [
    options.connectTimeoutMs === undefined ? "" : `\n      proxy_connect_timeout ${options.connectTimeoutMs}ms;`,
    options.readTimeoutMs === undefined ? "" : `\n      proxy_read_timeout ${options.readTimeoutMs}ms;`,
  ].join("");
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
# notice: the reloads of a rolling restart are logged ("start worker process"), and awaited by them.
error_log ${dir}/nginx-error.log notice;
# A reload's old worker waits at most this long for requests still in flight (a rolling restart waits for it).
worker_shutdown_timeout 5s;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # Round robin (nginx's default): no stickiness on purpose.
  # Keep-alive connections to the instances, an ordinary configuration (keepalive 16). nginx does
  # not retry a POST it has sent (the instance may have done the write), so a connection that dies
  # under a request is a 502 for the shopper:
  # - keepalive_timeout 4s: an idle connection is closed by nginx, which then never sends on it,
  #   before the shop's keepAliveTimeout (5 s, src/http-server.ts) would close it under nginx.
  # - An instance is restarted by taking it out first (marked down, nginx -s reload), and SIGTERM
  #   with SHUTDOWN_DELAY_SECONDS: it keeps serving until nginx no longer sends to it
  #   (scripts/rolling-restart.ts). A plain SIGTERM under load can reset a connection nginx opens
  #   the instant the instance stops listening (src/http-drain.ts).
  upstream shop {
    ${upstreamPorts.map((p) => `server ${address(p)}${down.has(p) ? " down" : ""};`).join(" ")}
    keepalive ${options.keepalive ?? 16};
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;${timeouts}
    }
  }
}
`;
}

/** Start nginx on `port` in front of `upstreamPorts`; it answers once `port` accepts connections. */
export async function startNginx(
  port: number,
  upstreamPorts: Upstream[],
  options: { dir?: string; stdio?: "inherit" | "ignore" } & Omit<UpstreamOptions, "down"> = {},
) {
  if (!NGINX_BINARY) throw new Error("nginx is not installed: apt-get install nginx-light (the scale-out load balancer)");
  const ownDir = !options.dir;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "nginx-test-"));
  const conf = path.join(dir, "nginx.conf");
  const logFile = path.join(dir, "nginx-error.log");
  fs.writeFileSync(conf, nginxConfig(dir, port, upstreamPorts, options));
  const child: ChildProcess = spawn(NGINX_BINARY, ["-p", dir, "-c", path.join(dir, "nginx.conf")], {
    stdio: ["ignore", "ignore", options.stdio ?? "inherit"],
  });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}; see ${dir}/nginx-error.log`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" }).then((r) => r.arrayBuffer());
      break; // any answer, even a 502 while instances start, means nginx listens
    } catch {
      if (i > 100) {
        child.kill("SIGKILL");
        throw new Error(`nginx did not listen on ${port}; see ${dir}/nginx-error.log`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    child,
    dir,
    url: `http://127.0.0.1:${port}`,
    errorLog: () => fs.readFileSync(logFile, "utf8"),
    /**
     * Rewrites the upstream with `down` marked and reloads (SIGHUP); resolves once the worker that
     * had the old configuration has exited. From then on nothing in nginx sends to those instances.
     * (The old worker first finishes the requests it has in flight: worker_shutdown_timeout caps
     * that wait for a stream that never ends, such as the instructor dashboard's.)
     */
    async markDown(down: Upstream[]) {
      const log = () => fs.readFileSync(logFile, "utf8");
      const workers = [...log().matchAll(/start worker process (\d+)/g)];
      const old = workers.at(-1)?.[1];
      if (!old) throw new Error(`nginx has no worker; see ${logFile}`);
      fs.writeFileSync(conf, nginxConfig(dir, port, upstreamPorts, { ...options, down }));
      child.kill("SIGHUP");
      for (let i = 0; !log().includes(`worker process ${old} exited`); i++) {
        if (i > 400) throw new Error(`nginx's old worker ${old} did not exit after the reload; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await stopProcess(child);
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
