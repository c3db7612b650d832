/**
 * SRS-style text log lines: `[2026-11-25 06:40:45.123][Trace][1234][17] message`, where the
 * last field is the context (a connection id, or 0 for the server). Levels follow SRS:
 * verbose < info < trace < warn < error. Output goes to stdout (console tank) or a file.
 * With `srs_log_format json` the same records are written as JSON lines (json-log-sink.ts).
 */
import fs from "node:fs";
import { JsonLogSink } from "./json-log-sink.js";

export type LogLevel = "verbose" | "info" | "trace" | "warn" | "error";
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { verbose: 0, info: 1, trace: 2, warn: 3, error: 4 };
const LABEL: Record<LogLevel, string> = { verbose: "Verb", info: "Debug", trace: "Trace", warn: "Warn", error: "Error" };

export interface LogSink {
  write(line: string): void;
}

const stdoutSink: LogSink = { write: (line) => process.stdout.write(line) };

export class Logger {
  private rank = RANK.trace;
  private sink: LogSink = stdoutSink;
  private utc = false;
  private format: LogFormat = "text";
  /** Made at the first JSON line, over the sink configured by then. */
  private json: JsonLogSink | null = null;

  configure(opts: { level?: LogLevel; sink?: LogSink; utc?: boolean; format?: LogFormat }): void {
    if (opts.level) this.rank = RANK[opts.level];
    if (opts.sink && opts.sink !== this.sink) {
      this.sink = opts.sink;
      this.json = null;
    }
    if (opts.utc !== undefined) this.utc = opts.utc;
    if (opts.format && opts.format !== this.format) {
      this.format = opts.format;
      this.json = null;
    }
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.rank;
  }

  verbose(ctx: number, msg: string): void {
    if (this.rank <= 0) this.emit("verbose", ctx, msg);
  }
  info(ctx: number, msg: string): void {
    if (this.rank <= 1) this.emit("info", ctx, msg);
  }
  trace(ctx: number, msg: string): void {
    if (this.rank <= 2) this.emit("trace", ctx, msg);
  }
  warn(ctx: number, msg: string): void {
    if (this.rank <= 3) this.emit("warn", ctx, msg);
  }
  error(ctx: number, msg: string): void {
    this.emit("error", ctx, msg);
  }

  private emit(level: LogLevel, ctx: number, msg: string): void {
    if (this.format === "json") {
      this.json ??= new JsonLogSink(this.sink === stdoutSink ? "stdout" : this.sink);
      this.json.write(level, ctx, msg);
      return;
    }
    this.sink.write(`[${this.timestamp()}][${LABEL[level]}][${process.pid}][${ctx}] ${msg}\n`);
  }

  private timestamp(): string {
    const d = new Date();
    const p2 = (n: number) => (n < 10 ? "0" + n : String(n));
    const ms = this.utc ? d.getUTCMilliseconds() : d.getMilliseconds();
    const parts = this.utc
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    const [y, mo, da, h, mi, s] = parts as [number, number, number, number, number, number];
    return `${y}-${p2(mo)}-${p2(da)} ${p2(h)}:${p2(mi)}:${p2(s)}.${String(ms).padStart(3, "0")}`;
  }
}

/** A file sink that appends synchronously, so a crash loses no line. */
export function fileSink(path: string): LogSink {
  const fd = fs.openSync(path, "a");
  return { write: (line) => fs.writeSync(fd, line) };
}

/** The process-wide logger. */
export const log = new Logger();
