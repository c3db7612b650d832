/**
 * The server's entry point, with SRS's command line: `sluice -c <file>` runs, `-t` checks
 * the config and exits 0/1, `-v` prints the version, `-h` the usage.
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig, type ConfigWarning, type SluiceConfig } from "./conf/config.js";
import { errorCode } from "./core/errors.js";
import { fileSink, log } from "./core/logger.js";
import { RtmpServer } from "./app/rtmp-server.js";
import { HttpService } from "./http/http-service.js";
import { StreamRoutes } from "./app/http-routes.js";
import { Statistics } from "./app/statistics.js";
import { ExporterService, metricsHandler } from "./app/metrics-http.js";
import { MetricsLoader } from "./app/metrics-loader.js";
import { capNewSpace } from "./core/heap.js";
import type { MetricsSources } from "./app/metrics-service.js";
import { ApiService } from "./app/http-api.js";
import { writePidFile, removePidFile } from "./app/pid-file.js";
import { DAEMON_CHILD_ARG, daemonize, notifyDaemonParent } from "./app/daemon.js";
import { printConfig } from "./conf/print-config.js";
import { VERSION } from "./version.js";
import { raiseOpenFilesLimit } from "./native/index.js";
import { DvrService } from "./app/dvr-service.js";
import { FfmpegSupervisor } from "./app/ffmpeg-supervisor.js";
import { IngestService } from "./app/ingest-service.js";
import { TranscodeService } from "./app/transcode-service.js";
import { ForwardService } from "./app/forward-service.js";
import { EdgeService } from "./app/edge-service.js";

const USAGE = `Usage: sluice [-h] [-v] [-t] [--foreground] -c <filename>
Options:
   -h, --help            print this help and exit
   -v, -V, --version     print the version and exit
   -t                    test the configuration file (syntax and values), print the effective
                         configuration, and exit 0 if valid, 1 if not
   -c <filename>         use this configuration file (SRS's dialect; see docs/config.md)
   --foreground          stay in the foreground even with \`daemon on\` (as \`daemon off\`)
Example:
   sluice -c conf/sluice.conf
`;

interface Args {
  conf: string;
  test: boolean;
  /** --foreground: ignore `daemon on`. */
  foreground: boolean;
  /** The detached child of `daemon on` (internal marker, see app/daemon.ts). */
  daemonChild: boolean;
}

function parseArgs(argv: string[]): Args | number {
  let conf = "";
  let test = false;
  let foreground = false;
  let daemonChild = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help" || a === "-?") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a === "-v" || a === "-V" || a === "--version") {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (a === "-t") test = true;
    else if (a === "--foreground") foreground = true;
    else if (a === DAEMON_CHILD_ARG) daemonChild = true;
    else if (a === "-c") {
      const v = argv[++i];
      if (!v) {
        process.stderr.write("sluice: -c needs a file name\n" + USAGE);
        return 1;
      }
      conf = v;
    } else {
      process.stderr.write(`sluice: unknown option ${a}\n${USAGE}`);
      return 1;
    }
  }
  if (!conf) {
    process.stderr.write(`sluice: no configuration file; use -c <filename>\n${USAGE}`);
    return 1;
  }
  return { conf, test, foreground, daemonChild };
}

function logWarnings(warnings: readonly ConfigWarning[]): void {
  for (const w of warnings) {
    const where = `${w.file}:${w.line}:${w.column}`;
    // ConfigContext.warn already starts the message with its position.
    const line = w.message.startsWith(`${where}: `) ? w.message : `${where}: ${w.message}`;
    if (w.level === "notice") log.trace(0, line);
    else log.warn(0, line);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "number") return args;

  let config: SluiceConfig;
  try {
    const loaded = loadConfig(args.conf);
    config = loaded.config;
    // srs_log_format, before the warnings so that with `json` they are JSON lines too (`-t`
    // is read by a person: text). Set at start only: a reload keeps it, as srs_log_tank.
    if (!args.test) log.configure({ format: config.log.format });
    logWarnings(loaded.warnings);
  } catch (err) {
    process.stderr.write(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    if (args.test) process.stderr.write(`sluice: the configuration file ${args.conf} test failed\n`);
    return 1;
  }
  if (args.test) {
    process.stdout.write(printConfig(config));
    process.stdout.write(`sluice: the configuration file ${args.conf} syntax is ok\nsluice: configuration file test is successful\n`);
    return 0;
  }

  // daemon on: re-spawn detached and exit once the child runs (see app/daemon.ts).
  if (config.daemon && !args.foreground && !args.daemonChild) {
    return await daemonize({
      argv: argv.filter((a) => a !== DAEMON_CHILD_ARG),
      logTank: config.log.tank,
      logFile: config.log.file,
      pidFile: config.pid,
    });
  }

  log.configure({ level: config.log.level, utc: config.utcTime });
  // V8's young generation would grow to 32 MB at scale for nothing (core/heap.ts).
  capNewSpace();
  if (config.log.tank === "file") {
    fs.mkdirSync(path.dirname(path.resolve(config.log.file)), { recursive: true });
    log.configure({ sink: fileSink(config.log.file) });
  }
  log.trace(0, `sluice ${VERSION} on node ${process.version}, pid ${process.pid}, config ${config.file}`);

  try {
    writePidFile(config.pid);
  } catch (err) {
    log.error(0, err instanceof Error ? err.message : String(err));
    await notifyDaemonParent({ sluice: "failed", reason: err instanceof Error ? err.message : String(err) });
    return 1;
  }

  const files = raiseOpenFilesLimit();
  if (files.soft >= 0 && files.soft < config.maxConnections + 64) {
    log.warn(0, `open-files limit ${files.soft} is below max_connections ${config.maxConnections}: raise it (ulimit -n, LimitNOFILE)`);
  }
  // SIGQUIT stops at once, during start-up too: it needs nothing but the pid file.
  process.on("SIGQUIT", () => {
    log.trace(0, "SIGQUIT: fast stop");
    removePidFile(config.pid);
    process.exit(0);
  });
  // Prometheus /metrics: SRS's exporter metrics and Sluice's (docs/metrics.md), loaded when exporter { } is enabled.
  const metrics: MetricsLoader = new MetricsLoader((m): MetricsSources => m.serverMetricsSources(stats, server, routes, () => server.currentConfig));
  const server: RtmpServer = new RtmpServer(config, { hookObserver: metrics.observeHook });
  server.addObserver(new DvrService(server.hooks)); // dvr { }: recording (docs/dvr.md)
  // ffmpeg children: ingests (started once listening) and transcoders (docs/ingest.md, docs/transcode.md).
  const ffmpegs = new FfmpegSupervisor();
  const ingests = new IngestService(ffmpegs, config);
  server.addObserver(ingests);
  server.addObserver(new TranscodeService(ffmpegs, config));
  // forward { } and cluster { mode remote; }: pushes and pulls on our RtmpClient (docs/forward.md, docs/cluster.md).
  server.addObserver(new ForwardService(config, server));
  server.addObserver(new EdgeService(server, config));
  const routes = new StreamRoutes(server);
  const stats: Statistics = new Statistics({ rtmp: server, flvClients: () => routes.clients, flvClosedBytes: () => routes.closedBytes, flvClientsTotal: () => routes.clientsTotal, children: () => ffmpegs.children() }, () => server.currentConfig);
  stats.start();
  // SRS's exporter port serves the API too; the API port answers /metrics (when the exporter is on).
  const exporter = new ExporterService({ registry: () => metrics.registry(), mount: (s) => s.use(api.routes) });
  // rpc=reload: the same reload as SIGHUP, by its handler below (after the API's answer;
  // an emit, not a kill, so that a request before the handler exists does nothing).
  const api = new ApiService(stats, () => setImmediate(() => process.emit("SIGHUP", "SIGHUP")), {
    mount: (s) => s.use(metricsHandler({ enabled: () => server.currentConfig.exporter.enabled, registry: () => metrics.registry() })),
  });
  const http = new HttpService((s) => {
    routes.mount(s);
    api.mount(s); // the API's paths, when it shares http_server's port
  });
  try {
    await server.start();
    await http.start(config.httpServer);
    await exporter.start(config.exporter);
    await metrics.apply(config.exporter.enabled);
    await api.start(config.httpApi, config.httpServer);
  } catch (err) {
    http.stop();
    exporter.stop();
    api.stop();
    log.error(0, `${errorCode(err) ?? "ERR"} ${err instanceof Error ? err.message : String(err)}`);
    removePidFile(config.pid);
    await notifyDaemonParent({ sluice: "failed", reason: err instanceof Error ? err.message : String(err) });
    return 1;
  }
  ingests.start();
  await notifyDaemonParent({ sluice: "ready" });

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const graceful = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.trace(0, `${signal}: stopping gracefully (${server.connectionCount} connections)`);
      routes.closeAll();
      stats.stop();
      http.stop();
      exporter.stop();
      metrics.stop();
      api.stop();
      void server.stop().then(() => {
        removePidFile(config.pid);
        log.trace(0, "stopped");
        resolve(0);
      });
    };
    // SIGHUP reloads, as SRS: an invalid file leaves the running config in place.
    process.on("SIGHUP", () => {
      if (stopping) return;
      let next: SluiceConfig;
      try {
        const loaded = loadConfig(args.conf);
        next = loaded.config;
        logWarnings(loaded.warnings);
      } catch (err) {
        log.error(0, `reload: ${err instanceof Error ? err.message : String(err)}; still running on the previous config`);
        return;
      }
      log.trace(0, `reload: applying ${next.file}`);
      log.configure({ level: next.log.level, utc: next.utcTime });
      void server
        .reload(next)
        .then(() => http.reload(next.httpServer))
        .then(() => exporter.reload(next.exporter))
        .then(() => metrics.apply(next.exporter.enabled))
        .then(() => api.reload(next.httpApi, next.httpServer))
        .then(() => log.trace(0, "reload: done"));
    });
    process.on("SIGTERM", () => graceful("SIGTERM"));
    process.on("SIGINT", () => graceful("SIGINT"));
  });
}
