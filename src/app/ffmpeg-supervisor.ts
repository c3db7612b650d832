/**
 * The one place that starts, watches, restarts and stops ffmpeg children (ingest and
 * transcode). A child that dies while it is wanted is started again after a delay that
 * doubles from 1 s up to 30 s, and falls back to 1 s once a child has run for 30 s (so a
 * broken input does not spin, and a source that comes back is picked up soon). Stopping
 * sends SIGTERM (ffmpeg closes its output cleanly) and SIGKILL after a grace. Each child's
 * stderr is appended to its own file in ff_log_dir (none with /dev/null). Children die with
 * the server: see spawnFfmpeg for a server that is killed.
 */
import fs from "node:fs";
import path from "node:path";
import { log } from "../core/logger.js";
import { commandLine, spawnFfmpeg, type FfmpegProcess, type SpawnFfmpegOptions } from "../outputs/ffmpeg/ffmpeg-command.js";

export type FfmpegChildKind = "ingest" | "transcode";

/** One wanted child. */
export interface FfmpegChildSpec {
  /** Unique among children, e.g. `ingest/__defaultVhost__/livestream/0`. */
  id: string;
  kind: FfmpegChildKind;
  /** For logs and the API, e.g. `__defaultVhost__/livestream`. */
  name: string;
  binary: string;
  args: readonly string[];
  /** The file for its stderr (appended), or null (ff_log_dir /dev/null). */
  logFile: string | null;
  /**
   * What the child was made from (config and templates before dates were filled): a
   * reload restarts a child only when this changes.
   */
  fingerprint: string;
}

export type FfmpegChildState = "running" | "backoff" | "stopping";

/** A child as the API lists it. */
export interface FfmpegChildInfo {
  id: string;
  kind: FfmpegChildKind;
  name: string;
  /** The running process, or null while waiting to restart. */
  pid: number | null;
  state: FfmpegChildState;
  /** Times it was started again after dying. */
  restarts: number;
  /** When the current process started (ms since the epoch), or null. */
  startedAt: number | null;
  cmdline: string;
  logFile: string | null;
}

export interface BackoffPolicy {
  /** The first delay, ms. */
  initialMs: number;
  /** The cap, ms. */
  maxMs: number;
  /** A child that ran this long before dying restarts after initialMs again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ initialMs: 1000, maxMs: 30_000, resetAfterMs: 30_000 });

/** The delay before restart number `attempt` (0 = the first restart of a run of failures). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
}

/** The log file of a child: SRS's names, `ffmpeg-ingest-VHOST-APP-STREAM.log` etc. */
export function ffmpegLogFile(logDir: string, parts: readonly string[]): string | null {
  if (logDir === "/dev/null" || logDir === "") return null;
  const safe = parts.map((p) => p.replace(/[^A-Za-z0-9._-]/g, "_")).join("-");
  return path.join(logDir, `ffmpeg-${safe}.log`);
}

interface Child {
  spec: FfmpegChildSpec;
  proc: FfmpegProcess | null;
  state: FfmpegChildState;
  restarts: number;
  /** Failures in a row, for the backoff. */
  attempt: number;
  startedAt: number | null;
  timer: NodeJS.Timeout | undefined;
  /** Resolves when a stop has ended the process. */
  stopped: Promise<void> | null;
}

export interface FfmpegSupervisorOptions {
  backoff?: BackoffPolicy;
  /** SIGTERM to SIGKILL, ms; default 3000. */
  graceMs?: number;
  /** Stands in for spawnFfmpeg in tests. */
  spawn?: (binary: string, args: readonly string[], opts: SpawnFfmpegOptions) => FfmpegProcess;
}

export class FfmpegSupervisor {
  private readonly byId = new Map<string, Child>();
  private readonly backoff: BackoffPolicy;
  private readonly graceMs: number;
  private readonly spawn: NonNullable<FfmpegSupervisorOptions["spawn"]>;

  constructor(opts: FfmpegSupervisorOptions = {}) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.graceMs = opts.graceMs ?? 3000;
    this.spawn = opts.spawn ?? spawnFfmpeg;
  }

  /**
   * Wants `spec` running: starts it, keeps it when the same id already runs with the same
   * fingerprint, or replaces it when the fingerprint changed. Returns what it did.
   */
  async ensure(spec: FfmpegChildSpec): Promise<"started" | "kept" | "replaced"> {
    const old = this.byId.get(spec.id);
    if (old && old.state !== "stopping" && old.spec.fingerprint === spec.fingerprint) return "kept";
    if (old) await this.stop(spec.id);
    // A concurrent ensure of the same id may have started it while we waited.
    if (this.byId.has(spec.id)) return "kept";
    const child: Child = { spec, proc: null, state: "backoff", restarts: 0, attempt: 0, startedAt: null, timer: undefined, stopped: null };
    this.byId.set(spec.id, child);
    this.run(child);
    return old ? "replaced" : "started";
  }

  /** Stops the child `id` (SIGTERM, SIGKILL after the grace); resolves when it has ended. */
  stop(id: string): Promise<void> {
    const child = this.byId.get(id);
    if (!child) return Promise.resolve();
    if (child.stopped) return child.stopped;
    child.state = "stopping";
    if (child.timer) clearTimeout(child.timer);
    child.timer = undefined;
    const proc = child.proc;
    child.stopped = new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.byId.get(id) === child) this.byId.delete(id);
        resolve();
      };
      if (!proc || proc.exited) return done();
      const kill = setTimeout(() => {
        log.warn(0, `ffmpeg ${child.spec.kind} ${child.spec.name}: pid ${proc.pid} did not end ${this.graceMs} ms after SIGTERM; SIGKILL`);
        proc.kill("SIGKILL");
      }, this.graceMs);
      proc.once("exit", () => {
        clearTimeout(kill);
        log.trace(0, `ffmpeg ${child.spec.kind} ${child.spec.name}: stopped pid ${proc.pid}`);
        done();
      });
      proc.kill("SIGTERM");
    });
    return child.stopped;
  }

  /** Stops every child whose id starts with `prefix` (all when ""). */
  async stopAll(prefix = ""): Promise<void> {
    await Promise.all([...this.byId.keys()].filter((id) => id.startsWith(prefix)).map((id) => this.stop(id)));
  }

  /** The ids of the children wanted now (running or waiting to restart) under `prefix`. */
  ids(prefix = ""): string[] {
    return [...this.byId.values()].filter((c) => c.state !== "stopping" && c.spec.id.startsWith(prefix)).map((c) => c.spec.id);
  }

  /** Every child, for the API (GET /api/v1/ffmpegs). */
  children(): FfmpegChildInfo[] {
    return [...this.byId.values()].map((c) => ({
      id: c.spec.id,
      kind: c.spec.kind,
      name: c.spec.name,
      pid: c.proc && !c.proc.exited ? (c.proc.pid ?? null) : null,
      state: c.state,
      restarts: c.restarts,
      startedAt: c.state === "running" ? c.startedAt : null,
      cmdline: commandLine(c.spec.binary, c.spec.args),
      logFile: c.spec.logFile,
    }));
  }

  private run(child: Child): void {
    const { spec } = child;
    child.timer = undefined;
    let logFile = spec.logFile;
    if (logFile !== null) {
      try {
        fs.mkdirSync(path.dirname(logFile), { recursive: true });
      } catch (err) {
        log.warn(0, `ffmpeg ${spec.kind} ${spec.name}: cannot create ${path.dirname(logFile)} for its log: ${err instanceof Error ? err.message : String(err)}`);
        logFile = null;
      }
    }
    let proc: FfmpegProcess;
    try {
      proc = this.spawn(spec.binary, spec.args, { logFile });
    } catch (err) {
      // spawn() throws only on arguments it cannot pass (a NUL byte): retrying cannot help.
      log.error(0, `ffmpeg ${spec.kind} ${spec.name}: cannot run: ${err instanceof Error ? err.message : String(err)}`);
      child.state = "backoff";
      return;
    }
    child.proc = proc;
    child.state = "running";
    child.startedAt = Date.now();
    log.trace(0, `ffmpeg ${spec.kind} ${spec.name}: started pid ${proc.pid ?? "-"}${logFile ? ` (log ${logFile})` : ""}: ${commandLine(spec.binary, spec.args)}`);
    proc.once("exit", (code, signal, error) => this.exited(child, proc, code, signal, error));
  }

  private exited(child: Child, proc: FfmpegProcess, code: number | null, signal: NodeJS.Signals | null, error: Error | undefined): void {
    if (child.state === "stopping" || this.byId.get(child.spec.id) !== child) return;
    const { spec } = child;
    const ranMs = Date.now() - (child.startedAt ?? Date.now());
    if (ranMs >= this.backoff.resetAfterMs) child.attempt = 0;
    const delay = backoffDelay(child.attempt, this.backoff);
    child.attempt++;
    child.state = "backoff";
    child.startedAt = null;
    const how = error ? `could not run: ${error.message}` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const last = lastWords(proc.tail);
    log.warn(
      0,
      `ffmpeg ${spec.kind} ${spec.name}: pid ${proc.pid ?? "-"} ${how} after ${(ranMs / 1000).toFixed(1)} s${last ? ` (${last})` : ""}; restart ${child.restarts + 1} in ${delay / 1000} s`,
    );
    child.timer = setTimeout(() => {
      if (child.state !== "backoff") return;
      child.restarts++;
      this.run(child);
    }, delay);
    child.timer.unref();
  }
}

/** The last stderr lines that say something (not progress), for the exit's log line. */
function lastWords(tail: readonly string[]): string {
  const useful = tail.filter((l) => !/^(frame|size)=/.test(l.trim()));
  return useful.slice(-2).join(" / ").slice(0, 300);
}
