/**
 * The one module that touches fluent-ffmpeg (pinned 2.1.3: unmaintained upstream, so it is
 * wrapped here and nowhere else). It turns an SRS transcode engine into an ffmpeg command
 * line, as SRS's SrsFFMPEG::start does, and runs that command as a child process.
 *
 * The command line, in SRS's meaning (trunk/src/app/srs_app_ffmpeg.cpp):
 *
 *   ffmpeg -nostdin [-loglevel L] <iparams: -re, -stream_loop -1> <perfile> [-f iformat] -i INPUT
 *          <vfilter: its `i X` become more inputs, the rest output options>
 *          -vcodec V | -vn     and, unless copy or vn: -b:v kbps -r fps -s WxH -aspect W:H
 *                              -threads N -profile:v P -preset P <vparams>
 *          -acodec A | -an     and, unless copy or an: -b:a kbps -ar rate -ac channels <aparams>
 *                              (with copy only `bsf:a aac_adtstoasc` of aparams is kept)
 *          [-f oformat] OUTPUT
 *
 * fluent-ffmpeg orders the output arguments its own way (audio before video, free options
 * last); ffmpeg reads output options in any order before the output, so the meaning is
 * SRS's. Option blocks (perfile, vfilter, vparams, aparams) are `name value;` pairs: the
 * name gets a leading `-` unless it has one (SRS's srs_prefix_underscores_ifno).
 *
 * We run the command ourselves rather than with fluent-ffmpeg's run(): its runner resolves
 * the binary through a module-global cache (one ffmpeg for the whole process, where SRS
 * lets every ingest and transcode name its own), probes `ffmpeg -formats/-encoders` first,
 * and cannot put `setpriv --pdeathsig` in front of the binary (see spawnFfmpeg).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import { createRequire } from "node:module";
import type FfmpegModule from "fluent-ffmpeg";

// Loaded on first use: a server without ingest or transcode does not carry fluent-ffmpeg.
const requireCjs = createRequire(import.meta.url);
let ffmpegFactory: typeof FfmpegModule | undefined;
function ffmpeg(): FfmpegModule.FfmpegCommand {
  ffmpegFactory ??= requireCjs("fluent-ffmpeg") as typeof FfmpegModule;
  return ffmpegFactory();
}
import type { FfmpegOptions, TranscodeEngine } from "../../conf/config.js";
import { log } from "../../core/logger.js";

/** What one ffmpeg child does: read `input`, apply `engine` (or copy), write `output`. */
export interface FfmpegJob {
  /** A file path or any URL ffmpeg reads. */
  input: string;
  /** SRS's iparams, first before the input: e.g. `-re`, `-stream_loop -1`. */
  inputOptions?: readonly string[];
  /** The engine; null or `copy: true` copies both streams (SRS's initialize_copy). */
  engine: TranscodeEngine | null;
  /** Copy video and audio whatever the engine says (an ingest whose engine is off). */
  copy?: boolean;
  /** The output URL or file, templates already filled. */
  output: string;
  /** ff_log_level: `-loglevel` before the input (as SRS's ingest); none when absent. */
  logLevel?: string;
}

/** SRS's codec words: `copy` streams as they are, `vn`/`an` drop video/audio. */
const COPY = "copy";
const NO_VIDEO = "vn";
const NO_AUDIO = "an";

/** `name value` of an option block as ffmpeg arguments: `-name value` (or `-name` alone). */
export function optionArgs(options: FfmpegOptions): string[] {
  const out: string[] = [];
  for (const [name, value] of options) {
    if (name === "") continue;
    out.push(name.startsWith("-") ? name : `-${name}`);
    if (value !== "") out.push(value);
  }
  return out;
}

/**
 * Why `job` cannot run, or null: what SRS's initialize_transcode refuses, and a transcode
 * engine without codecs (ffmpeg would pick FLV's defaults, Sorenson and MP3).
 */
export function jobProblem(job: FfmpegJob): string | null {
  if (job.output === "") return "empty output";
  if (job.input === "") return "empty input";
  const e = job.engine;
  if (!e || job.copy) return null;
  if (e.vcodec === "") return `engine ${e.name}: no vcodec (a codec, copy or vn)`;
  if (e.acodec === "") return `engine ${e.name}: no acodec (a codec, copy or an)`;
  if (e.vcodec === NO_VIDEO && e.acodec === NO_AUDIO) return `engine ${e.name}: video and audio both disabled (vn and an)`;
  return null;
}

/**
 * Adds options through fluent-ffmpeg's inputOptions/outputOptions. Given two or more
 * arguments it keeps each whole; given one it splits "a b" at the space, but a lone
 * argument here is always a flag name (values come in pairs), which has none.
 */
function addOptions(add: (...options: string[]) => unknown, args: readonly string[]): void {
  if (args.length > 0) add(...args);
}

/** The fluent-ffmpeg command for `job` (not run). */
export function buildFfmpegCommand(job: FfmpegJob): FfmpegModule.FfmpegCommand {
  const cmd = ffmpeg();
  const e = job.engine;
  const copy = job.copy || !e;
  cmd.input(job.input);
  // -nostdin: ffmpeg reads no keys (its stdin is /dev/null anyway) and never touches a tty.
  const iparams = ["-nostdin", ...(job.logLevel ? ["-loglevel", job.logLevel] : []), ...(job.inputOptions ?? [])];
  if (e && !copy) {
    iparams.push(...optionArgs(e.perfile));
    // SRS: iformat (default flv) applies to rtmp:// inputs only; `off` names none.
    const iformat = e.iformat === "" ? "flv" : e.iformat;
    if (iformat !== "off" && job.input.startsWith("rtmp://")) iparams.push("-f", iformat);
  }
  addOptions((...o) => cmd.inputOptions(...o), iparams);

  const out: string[] = [];
  if (e && !copy) {
    // vfilter sits between the input and the codecs; each `i FILE` in it is another input
    // (a logo), and the options before it are that input's.
    let pending: string[] = [];
    const args = optionArgs(e.vfilter);
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "-i" && i + 1 < args.length) {
        cmd.input(args[++i]!);
        addOptions((...o) => cmd.inputOptions(...o), pending);
        pending = [];
      } else {
        pending.push(args[i]!);
      }
    }
    out.push(...pending);
  }

  const vcodec = copy ? COPY : e.vcodec;
  if (vcodec === NO_VIDEO) cmd.noVideo();
  else cmd.videoCodec(vcodec);
  if (e && vcodec !== COPY && vcodec !== NO_VIDEO) {
    if (e.vbitrate > 0) cmd.videoBitrate(e.vbitrate); // kbps: "-b:v 300k", SRS's 300000
    if (e.vfps > 0) cmd.fps(e.vfps);
    // SRS keeps sizes even (x264 needs it) and sets the display aspect with them.
    const w = e.vwidth - (e.vwidth % 2);
    const h = e.vheight - (e.vheight % 2);
    if (w > 0 && h > 0) out.push("-s", `${w}x${h}`, "-aspect", `${w}:${h}`);
    if (e.vthreads > 0) out.push("-threads", String(e.vthreads));
    if (e.vprofile !== "") out.push("-profile:v", e.vprofile);
    if (e.vpreset !== "") out.push("-preset", e.vpreset);
    out.push(...optionArgs(e.vparams));
  }

  const acodec = copy ? COPY : e.acodec;
  if (acodec === NO_AUDIO) cmd.noAudio();
  else cmd.audioCodec(acodec);
  if (e && acodec !== COPY && acodec !== NO_AUDIO) {
    if (e.abitrate > 0) cmd.audioBitrate(e.abitrate); // kbps: "-b:a 45k"
    if (e.asampleRate > 0) cmd.audioFrequency(e.asampleRate);
    if (e.achannels > 0) cmd.audioChannels(e.achannels);
    out.push(...optionArgs(e.aparams));
  } else if (e && !copy && acodec === COPY) {
    // SRS: with audio copy, only the ADTS-to-ASC bitstream filter of aparams applies.
    const a = optionArgs(e.aparams);
    for (let i = 0; i + 1 < a.length; i++) if (a[i] === "-bsf:a" && a[i + 1] === "aac_adtstoasc") out.push("-bsf:a", "aac_adtstoasc");
  }

  addOptions((...o) => cmd.outputOptions(...o), out);
  // SRS: oformat defaults to flv (RTMP); `off` lets ffmpeg guess from the output name.
  const oformat = !e || copy || e.oformat === "" ? "flv" : e.oformat;
  if (oformat !== "off") cmd.format(oformat);
  cmd.output(job.output);
  return cmd;
}

/** ffmpeg's arguments (without the binary) for `job`. */
export function ffmpegArguments(job: FfmpegJob): string[] {
  return buildFfmpegCommand(job)._getArguments().map(String);
}

/** A command line for logs and the API: arguments with spaces or quotes are quoted. */
export function commandLine(binary: string, args: readonly string[]): string {
  const q = (a: string): string => (a === "" || /[\s'"\\$`;&|<>()*?[\]{}]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a);
  return [binary, ...args].map(q).join(" ");
}

// ---------------------------------------------------------------------------------------
// the binary

/** SRS's default ffmpeg; `ffmpeg` from PATH stands in when it does not exist. */
export const SRS_DEFAULT_FFMPEG = "./objs/ffmpeg/bin/ffmpeg";
let defaultNoticed = false;

/** The binary to run for a configured `ffmpeg PATH`. */
export function resolveFfmpegBinary(configured: string): string {
  if (configured !== SRS_DEFAULT_FFMPEG || fs.existsSync(configured)) return configured;
  if (!defaultNoticed) {
    defaultNoticed = true;
    log.trace(0, `ffmpeg: ${SRS_DEFAULT_FFMPEG} (SRS's default) does not exist; using ffmpeg from PATH`);
  }
  return "ffmpeg";
}

// ---------------------------------------------------------------------------------------
// running

/**
 * How a child dies with the server. Node cannot call prctl(PR_SET_PDEATHSIG) between fork
 * and exec, but util-linux's `setpriv --pdeathsig SIGKILL -- ffmpeg ...` does, then execs
 * ffmpeg in place (same pid; the death signal survives exec for a binary that is not
 * set-uid). So a SIGKILLed or crashed server takes its ffmpeg children with it, at once.
 * Measured on Debian 12 (util-linux 2.38, ffmpeg 5.1): without it an ffmpeg whose parent
 * was SIGKILLed runs on (stdin EOF does not stop it, and it ignores SIGPIPE on stderr).
 * Where setpriv is missing (not Linux, a minimal image) children are still killed when the
 * server exits by itself (the process "exit" handler below), not after a SIGKILL.
 */
let pdeathsig: boolean | undefined;
function pdeathsigAvailable(): boolean {
  if (pdeathsig !== undefined) return pdeathsig;
  pdeathsig = process.platform === "linux" && spawnSync("setpriv", ["--pdeathsig", "SIGKILL", "--", "true"], { stdio: "ignore", timeout: 5000 }).status === 0;
  if (!pdeathsig) log.warn(0, "ffmpeg: setpriv --pdeathsig is not available (util-linux); ffmpeg children may outlive a killed server");
  return pdeathsig;
}

/** Every running child, SIGKILLed if the server exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHook = false;
function killRunningOnExit(): void {
  for (const c of running) c.kill("SIGKILL");
}

/** How many of a child's last stderr lines are kept for the log line of its exit. */
const TAIL_LINES = 20;

export interface FfmpegProcessEvents {
  /** A stderr line (progress lines, ended by `\r`, are lines too). */
  line: [line: string];
  /** The process ended (and its stderr closed); `error` when it could not be spawned. */
  exit: [code: number | null, signal: NodeJS.Signals | null, error: Error | undefined];
}

/** A running ffmpeg. */
export class FfmpegProcess extends EventEmitter<FfmpegProcessEvents> {
  /** The last stderr lines. */
  readonly tail: string[] = [];
  exited = false;
  private partial = "";

  constructor(
    private readonly child: ChildProcess,
    private readonly logFile: fs.WriteStream | null,
  ) {
    super();
    running.add(child);
    child.stderr?.on("data", (chunk: Buffer) => this.onStderr(chunk));
    let error: Error | undefined;
    child.once("error", (err) => {
      error = err;
      // Not spawned at all: no close follows.
      if (child.pid === undefined) this.finish(null, null, err);
    });
    child.once("close", (code, signal) => this.finish(code, signal, error));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `signal` (SIGTERM: ffmpeg ends its output cleanly; SIGKILL: at once). */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (!this.exited) this.child.kill(signal);
  }

  private onStderr(chunk: Buffer): void {
    this.logFile?.write(chunk);
    const parts = (this.partial + chunk.toString("utf8")).split(/\r\n|\r|\n/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line === "") continue;
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      this.emit("line", line);
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, error: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    running.delete(this.child);
    if (this.partial !== "") {
      this.tail.push(this.partial);
      this.partial = "";
    }
    this.logFile?.end();
    this.emit("exit", code, signal, error);
  }
}

export interface SpawnFfmpegOptions {
  /** Append ffmpeg's stderr to this file; null: keep only the last lines in memory. */
  logFile: string | null;
}

/** Runs `binary args...` with stdin /dev/null, stdout dropped, stderr read (and logged). */
export function spawnFfmpeg(binary: string, args: readonly string[], opts: SpawnFfmpegOptions): FfmpegProcess {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", killRunningOnExit);
  }
  let file: fs.WriteStream | null = null;
  if (opts.logFile !== null) {
    file = fs.createWriteStream(opts.logFile, { flags: "a" });
    file.on("error", (err) => log.warn(0, `ffmpeg: cannot write ${opts.logFile}: ${err.message}`));
  }
  const [cmd, argv] = pdeathsigAvailable() ? ["setpriv", ["--pdeathsig", "SIGKILL", "--", binary, ...args]] : [binary, [...args]];
  // detached: its own session, so a terminal's Ctrl-C (sent to the whole foreground process
  // group) reaches the server only, which then stops its children in order.
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  return new FfmpegProcess(child, file);
}
