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
import { writePidFile, removePidFile } from "./app/pid-file.js";
import { VERSION } from "./version.js";

const USAGE = `Usage: sluice [-h] [-v] [-t] -c <filename>
Options:
   -h, --help            print this help and exit
   -v, -V, --version     print the version and exit
   -t                    test the configuration file (syntax and values) and exit 0 if valid, 1 if not
   -c <filename>         use this configuration file (SRS's dialect; see docs/config.md)
Example:
   sluice -c conf/sluice.conf
`;

interface Args {
  conf: string;
  test: boolean;
}

function parseArgs(argv: string[]): Args | number {
  let conf = "";
  let test = false;
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
  return { conf, test };
}

function logWarnings(warnings: readonly ConfigWarning[]): void {
  for (const w of warnings) {
    const where = `${w.file}:${w.line}:${w.column}`;
    if (w.level === "notice") log.trace(0, `${where}: ${w.message}`);
    else log.warn(0, `${where}: ${w.message}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "number") return args;

  let config: SluiceConfig;
  try {
    const loaded = loadConfig(args.conf);
    config = loaded.config;
    logWarnings(loaded.warnings);
  } catch (err) {
    process.stderr.write(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    if (args.test) process.stderr.write(`sluice: the configuration file ${args.conf} test failed\n`);
    return 1;
  }
  if (args.test) {
    process.stdout.write(`sluice: the configuration file ${args.conf} syntax is ok\nsluice: configuration file test is successful\n`);
    return 0;
  }

  log.configure({ level: config.log.level });
  if (config.log.tank === "file") {
    fs.mkdirSync(path.dirname(path.resolve(config.log.file)), { recursive: true });
    log.configure({ sink: fileSink(config.log.file) });
  }
  log.trace(0, `sluice ${VERSION} on node ${process.version}, pid ${process.pid}, config ${config.file}`);
  if (config.daemon) {
    log.warn(0, "daemon on is not implemented yet: running in the foreground (set daemon off to silence this)");
  }

  try {
    writePidFile(config.pid);
  } catch (err) {
    log.error(0, err instanceof Error ? err.message : String(err));
    return 1;
  }

  const server = new RtmpServer(config);
  try {
    await server.start();
  } catch (err) {
    log.error(0, `${errorCode(err) ?? "ERR"} ${err instanceof Error ? err.message : String(err)}`);
    removePidFile(config.pid);
    return 1;
  }

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const graceful = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.trace(0, `${signal}: stopping gracefully (${server.connectionCount} connections)`);
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
      log.configure({ level: next.log.level });
      void server.reload(next).then(() => log.trace(0, "reload: done"));
    });
    process.on("SIGTERM", () => graceful("SIGTERM"));
    process.on("SIGINT", () => graceful("SIGINT"));
    process.on("SIGQUIT", () => {
      log.trace(0, "SIGQUIT: fast stop");
      removePidFile(config.pid);
      process.exit(0);
    });
  });
}
