/**
 * The servers the capacity benchmark runs, each as shipped (default chunk size and
 * delivery settings), on 127.0.0.1 and a port the bench picks: Sluice, nginx-rtmp (Debian
 * nginx-light + libnginx-mod-rtmp, installed when missing) and node-media-server (npm,
 * the current release 4.4.3, pinned in package.json).
 *
 * HTTP-FLV: Sluice serves it when started with `httpFlv` (http_server + the default
 * vhost's http_remux, mount [vhost]/[app]/[stream].flv: http://HOST:PORT/live/bench.flv);
 * node-media-server 4.4.3 always does, on its HTTP port (config `http.port`, its
 * `--http-port`; express route `/:app/:name.flv`: the same URL form). nginx-rtmp has no
 * HTTP-FLV (that is the separate nginx-http-flv-module fork), so it has no `httpPort`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export type ServerName = "sluice" | "nginx-rtmp" | "node-media-server";

export interface RunningPeer {
  name: ServerName;
  /** The process whose CPU and memory count (nginx: its one worker). */
  pid: number;
  port: number;
  /** Where its HTTP-FLV is served, when it serves it. */
  httpPort?: number;
  /** The last lines of its stdout and stderr (kept in memory, up to 200 pieces). */
  logTail(): string[];
  stop(): Promise<void>;
}

/** What a Sluice run turns on beyond the plain RTMP server the capacity benchmark uses. */
export interface SluiceOptions {
  /** http_server on a port of its own, and http_remux (HTTP-FLV) on the default vhost. */
  httpFlv?: boolean;
  /** http_server on a port of its own (implied by httpFlv). */
  httpServer?: boolean;
  /** More directives for the default vhost, e.g. an hls { } block. */
  vhost?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess, what: string, log: string[]): Promise<void> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`${what} exited at start:\n${log.slice(-20).join("")}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port}:\n${log.slice(-20).join("")}`);
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill("SIGTERM");
    });
}

function collect(proc: ChildProcess): string[] {
  const log: string[] = [];
  const keep = (d: Buffer) => {
    log.push(d.toString());
    if (log.length > 200) log.shift();
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  return log;
}

function tail(log: string[]): () => string[] {
  return () => log.join("").split("\n").filter(Boolean);
}

export async function startSluice(dir: string, opts: SluiceOptions = {}): Promise<RunningPeer> {
  const port = await freePort();
  const conf = path.join(dir, "sluice.conf");
  const http = opts.httpFlv || opts.httpServer;
  const httpPort = http ? await freePort() : undefined;
  if (http) mkdirSync(path.join(dir, "www"), { recursive: true });
  const vhost = [opts.httpFlv ? "http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }" : "", opts.vhost ?? ""].filter(Boolean).join(" ");
  writeFileSync(
    conf,
    `listen 127.0.0.1:${port};\nmax_connections 20000;\ndaemon off;\npid ${dir}/sluice.pid;\nsrs_log_level warn;\n` +
      (http ? `http_server { enabled on; listen 127.0.0.1:${httpPort}; dir ${dir}/www; }\n` : "") +
      `vhost __defaultVhost__ {${vhost ? ` ${vhost} ` : " "}}\n`,
  );
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "sluice.js"), "-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  const log = collect(proc);
  await waitForPort(port, proc, "sluice", log);
  if (httpPort !== undefined) await waitForPort(httpPort, proc, "sluice http_server", log);
  return { name: "sluice", pid: proc.pid!, port, httpPort, logTail: tail(log), stop: stopper(proc) };
}

const NGINX_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/** Installs nginx-light and the RTMP module with apt-get when missing (root only). */
export function ensureNginxRtmp(): string | undefined {
  if (existsSync("/usr/sbin/nginx") && existsSync(NGINX_MODULE)) return undefined;
  if (process.getuid?.() !== 0) return "nginx-rtmp is not installed: sudo apt-get install -y nginx-light libnginx-mod-rtmp";
  process.stderr.write("installing nginx-light and libnginx-mod-rtmp (apt-get)...\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "nginx-light", "libnginx-mod-rtmp"], { stdio: "inherit", env });
  // The package starts a system nginx on port 80; the bench runs its own.
  spawnSync("sh", ["-c", "command -v systemctl >/dev/null && systemctl stop nginx 2>/dev/null; pkill -x nginx 2>/dev/null; true"]);
  if (r.status !== 0 || !existsSync(NGINX_MODULE)) return "apt-get could not install nginx-light libnginx-mod-rtmp";
  return undefined;
}

export async function startNginxRtmp(dir: string): Promise<RunningPeer> {
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  // One worker, as nginx-rtmp's live streaming needs (its docs: worker_processes 1 or
  // rtmp_auto_push); defaults otherwise (chunk_size 4096, no extra buffering settings).
  writeFileSync(
    conf,
    [
      `load_module ${NGINX_MODULE};`,
      "daemon off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      "error_log stderr warn;",
      "worker_rlimit_nofile 30000;",
      "events { worker_connections 20000; }",
      `rtmp { server { listen 127.0.0.1:${port}; application live { live on; } } }`,
      "",
    ].join("\n"),
  );
  const proc = spawn("/usr/sbin/nginx", ["-c", conf, "-p", dir], { stdio: ["ignore", "pipe", "pipe"] });
  const log = collect(proc);
  await waitForPort(port, proc, "nginx-rtmp", log);
  // The worker is the master's child; its CPU is the work.
  let worker = 0;
  for (let i = 0; i < 50 && !worker; i++) {
    try {
      worker = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(/\s+/)[0]) || 0;
    } catch {
      worker = 0;
    }
    if (!worker) await new Promise((r) => setTimeout(r, 100));
  }
  if (!worker) throw new Error("nginx-rtmp: no worker process found");
  return { name: "nginx-rtmp", pid: worker, port, logTail: tail(log), stop: stopper(proc) };
}

/**
 * node-media-server as `npm install node-media-server` gives it today (4.4.3, pinned as the
 * alias node-media-server-4), started with its own bin/app.js and default config, RTMP on
 * our port and its HTTP/RTMPS ports moved out of the way. (The micro benchmarks use the
 * classic 2.7.4 line, whose parser and AMF modules can be imported on their own.)
 */
export async function startNodeMediaServer(dir: string): Promise<RunningPeer> {
  const port = await freePort();
  const binDir = path.join(REPO_ROOT, "node_modules", "node-media-server-4", "bin");
  const others = await Promise.all([freePort(), freePort(), freePort()]);
  const args = [
    path.join(binDir, "app.js"),
    "--bind", "127.0.0.1",
    "--rtmp-port", String(port),
    "--rtmps-port", String(others[0]),
    "--http-port", String(others[1]),
    "--https-port", String(others[2]),
    "--data-path", path.join(dir, "nms-data"),
    "--no-admin",
  ];
  // Its config names key.pem/cert.pem relative to the working directory: run it in bin/.
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], cwd: binDir });
  const log = collect(proc);
  await waitForPort(port, proc, "node-media-server", log);
  await waitForPort(others[1]!, proc, "node-media-server http", log);
  return { name: "node-media-server", pid: proc.pid!, port, httpPort: others[1], logTail: tail(log), stop: stopper(proc) };
}

/** Whether `name` serves HTTP-FLV at all (nginx-rtmp does not). */
export function servesHttpFlv(name: ServerName): boolean {
  return name !== "nginx-rtmp";
}

export function startPeer(name: ServerName, dir: string, opts: { httpFlv?: boolean } = {}): Promise<RunningPeer> {
  switch (name) {
    case "sluice":
      return startSluice(dir, { httpFlv: opts.httpFlv });
    case "nginx-rtmp":
      return startNginxRtmp(dir);
    case "node-media-server":
      return startNodeMediaServer(dir);
  }
}
