/**
 * `srs_log_format json`: one JSON object per line, written by pino, for log shippers (Loki,
 * Elasticsearch, Vector). A line reads
 *
 *   {"level":30,"srs_level":"trace","time":1795598712779,"pid":24065,"hostname":"h","cid":7,"msg":"..."}
 *
 * `time` is pino's epoch milliseconds (so `utc_time` does not apply), `cid` is the context id
 * the text format prints in its fourth bracket (a connection id, 0 for the server), `level`
 * is pino's number and `srs_level` SRS's name. SRS's five levels map onto pino's in order:
 *
 *   SRS verbose -> pino trace (10)     SRS info -> pino debug (20)    SRS trace -> pino info (30)
 *   SRS warn    -> pino warn  (40)     SRS error -> pino error (50)
 *
 * The Logger filters by SRS level before it gets here; pino is set to pass everything.
 * Writes are synchronous, so the last lines before a crash or `process.exit` are out: stdout
 * through pino.destination({ fd: 1, sync: true }) (SonicBoom; retries EAGAIN on a
 * non-blocking pipe, stops quietly on EPIPE), a file through the Logger's own file sink
 * (fs.writeSync, the same one the text format uses).
 *
 * This is the only module that knows pino.
 */
import { createRequire } from "node:module";
import type pinoModule from "pino";

// Loaded on first use: a server with text logs (the default) does not carry pino (~8 MB RSS).
const requireCjs = createRequire(import.meta.url);
let pinoFactory: typeof pinoModule | undefined;
function loadPino(): typeof pinoModule {
  return (pinoFactory ??= requireCjs("pino") as typeof pinoModule);
}
import type { LogLevel, LogSink } from "./logger.js";

const PINO_LEVEL: Readonly<Record<LogLevel, "trace" | "debug" | "info" | "warn" | "error">> = {
  verbose: "trace",
  info: "debug",
  trace: "info",
  warn: "warn",
  error: "error",
};

const SRS_LEVEL: Readonly<Record<string, LogLevel>> = {
  trace: "verbose",
  debug: "info",
  info: "trace",
  warn: "warn",
  error: "error",
};

export class JsonLogSink {
  private readonly pino: pinoModule.Logger;

  /** `"stdout"`: fd 1, synchronously; or any sink that takes whole lines (a file sink, a test's array). */
  constructor(to: "stdout" | LogSink) {
    const pino = loadPino();
    const dest: pinoModule.DestinationStream = to === "stdout" ? pino.destination({ fd: 1, sync: true }) : to;
    this.pino = pino(
      {
        level: "trace",
        formatters: { level: (label, number) => ({ level: number, srs_level: SRS_LEVEL[label] ?? label }) },
      },
      dest,
    );
  }

  write(level: LogLevel, ctx: number, msg: string): void {
    this.pino[PINO_LEVEL[level]]({ cid: ctx }, msg);
  }
}
