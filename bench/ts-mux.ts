/**
 * Our native MPEG-TS muxer beside ffmpeg's mpegts muxer, on the same FLV file, in CPU time.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/bench/ts-mux.js [--runs=9] [--passes=40]
 *
 * The input (bench/ts-mux/input.ts) is 60 s of 720p 2 Mbps H.264 with B-frames + AAC as FLV,
 * encoded once with ffmpeg and cached. It is split into tags in JS before anything is timed.
 *
 * Ours: every tag through one TsMuxer, one call per tag as the HLS muxer makes them, with
 * startSegment() (PAT/PMT) at the keyframe that starts each 2 s segment; `passes` times over
 * the file (timestamps carried on, as one long stream). Each run is a fresh Node process (this
 * script with --child), as each ffmpeg run is: it parses the FLV, muxes 3 untimed passes, then
 * takes process.cpuUsage() (user + sys of the process, every thread, GC included) around the
 * timed passes. Per round: with Node's defaults (as the server runs); to show what V8's GC
 * threads cost, with --single-threaded-gc; and, to show what the returned Buffers cost apart
 * from the muxing, a loop that only allocates and fills Buffers of the same sizes.
 *
 * ffmpeg: `ffmpeg -nostdin -v error -stream_loop <passes-1> -i in.flv -c copy -f mpegts -y
 * /dev/null` (the whole job: startup, FLV demux, h264_mp4toannexb, the mpegts muxer, writes)
 * and the same with `-f null -` (startup and demux only); the child's user + sys from
 * getrusage. ffmpeg's mux-only cost is the difference of the two medians.
 *
 * Rounds are interleaved (ours, its two diagnostics, ffmpeg mpegts, ffmpeg null, again)
 * so a neighbour's load falls on all alike; each figure is the median of the rounds, per pass
 * (60 s of media). Before timing, one pass of ours is written to a file and checked: its TS
 * structure here, and ffprobe -show_packets must read as many video and audio packets as the
 * FLV has frames, with the same PTS/DTS; else the bench fails. Results go to
 * bench/results/ts-mux-<date>.md and .json.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TsMuxer } from "../src/native/index.js";
import { repoRoot } from "./micro/common.js";
import { timeChild } from "./ts-mux/child-cpu.js";
import { parseFlv, TAG_AUDIO, TAG_VIDEO, type FlvFile, type FlvTag } from "./ts-mux/flv.js";
import { INPUT_DESCRIPTION, cacheDir, ensureInput, ffmpegVersion, ffprobeAvailable } from "./ts-mux/input.js";
import { checkTsStructure, compareWithFlv, countPackets, ffprobePackets } from "./ts-mux/verify.js";

const SEGMENT_MS = 2000;

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const RUNS = option("runs", 9);
const PASSES = option("passes", 40);

const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** Muxer state a segmenter keeps across calls: where the current segment started. */
interface Segmenter {
  muxer: TsMuxer;
  segmentStart: number;
}

function newSegmenter(): Segmenter {
  return { muxer: new TsMuxer(), segmentStart: -Infinity };
}

/**
 * One pass over the file's tags, timestamps shifted by `base` ms; returns the TS bytes made.
 * With `keep`, the packets are also pushed there (for the sanity check only).
 */
function muxPass(s: Segmenter, tags: readonly FlvTag[], base: number, keep?: Buffer[]): number {
  const m = s.muxer;
  let bytes = 0;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i]!;
    let out: Buffer;
    if (t.type === TAG_VIDEO) {
      const ts = base + t.timestamp;
      if (t.key && ts - s.segmentStart >= SEGMENT_MS) {
        s.segmentStart = ts;
        const pat = m.startSegment();
        bytes += pat.length;
        if (keep) keep.push(pat);
      }
      out = m.muxVideo(ts, t.body);
    } else if (t.type === TAG_AUDIO) {
      out = m.muxAudio(base + t.timestamp, t.body);
    } else {
      continue; // onMetaData: the HLS muxer does not take it
    }
    bytes += out.length;
    if (keep) keep.push(out);
  }
  return bytes;
}

interface Run {
  /** CPU seconds (user + sys) of the whole run of `passes` passes. */
  cpu: number;
  user: number;
  sys: number;
  wall: number;
}

function oursRun(tags: readonly FlvTag[], passSpanMs: number, passes: number): Run & { tsBytes: number } {
  const s = newSegmenter();
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  let tsBytes = 0;
  for (let p = 0; p < passes; p++) tsBytes += muxPass(s, tags, p * passSpanMs);
  const c = process.cpuUsage(c0);
  const wall = (performance.now() - w0) / 1000;
  return { cpu: (c.user + c.system) / 1e6, user: c.user / 1e6, sys: c.system / 1e6, wall, tsBytes };
}

/**
 * The ways ours is run, each in its own Node process: as the server runs it (Node defaults);
 * with --single-threaded-gc, to show what V8's GC helper threads add; and, to show what the
 * Buffers cost apart from the muxing, a loop that only allocates and fills Buffers of the
 * sizes TsMuxer returns (Buffer.allocUnsafeSlow + copy, as Napi::Buffer::Copy mallocs and
 * copies), one per call, no muxing.
 */
const OURS_VARIANTS = [
  { key: "ours", flags: [] as string[], mode: "mux" },
  { key: "oursSingleThreadedGc", flags: ["--single-threaded-gc"], mode: "mux" },
  { key: "buffersOnly", flags: [] as string[], mode: "alloc" },
] as const;

/**
 * Ours in a fresh Node process (as each ffmpeg run is): it parses the FLV, warms up with 3
 * untimed passes, then times `passes` passes with process.cpuUsage() and prints the Run.
 */
function oursChild(flags: readonly string[], mode: "mux" | "alloc", input: string, passes: number): Run & { tsBytes: number } {
  const args = [...flags, fileURLToPath(import.meta.url), "--child", `--mode=${mode}`, `--input=${input}`, `--passes=${passes}`];
  const r = spawnSync(process.execPath, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.error || r.status !== 0) throw new Error(`our child run failed (exit ${r.status}): ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Run & { tsBytes: number };
}

function childMain(): void {
  const arg = process.argv.find((a) => a.startsWith("--input="));
  if (!arg) throw new Error("--child needs --input=");
  const flv = parseFlv(readFileSync(arg.slice("--input=".length)));
  const span = passSpan(flv);
  if (process.argv.includes("--mode=alloc")) {
    const keep: Buffer[] = [];
    muxPass(newSegmenter(), flv.tags, 0, keep);
    const sizes = keep.map((b) => b.length);
    allocRun(sizes, 3);
    process.stdout.write(JSON.stringify(allocRun(sizes, PASSES)) + "\n");
    return;
  }
  oursRun(flv.tags, span, 3);
  process.stdout.write(JSON.stringify(oursRun(flv.tags, span, PASSES)) + "\n");
}

/** The Buffers alone: one new Buffer per call of the size TsMuxer returned, filled by a copy. */
function allocRun(sizes: readonly number[], passes: number): Run & { tsBytes: number } {
  const src = Buffer.alloc(Math.max(...sizes), 0x47);
  let tsBytes = 0;
  let sink = 0;
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < sizes.length; i++) {
      const b = Buffer.allocUnsafeSlow(sizes[i]!);
      src.copy(b, 0, 0, b.length);
      sink += b[0] ?? 0;
      tsBytes += b.length;
    }
  }
  const c = process.cpuUsage(c0);
  const wall = (performance.now() - w0) / 1000;
  if (sink === 0 && tsBytes > 0) throw new Error("allocRun: copies did not happen");
  return { cpu: (c.user + c.system) / 1e6, user: c.user / 1e6, sys: c.system / 1e6, wall, tsBytes };
}

/** Timestamp offset between passes: past the file's last tag, whole seconds, plus 1 s. */
function passSpan(flv: FlvFile): number {
  let maxTs = 0;
  for (const t of flv.tags) maxTs = Math.max(maxTs, t.timestamp);
  return Math.ceil((maxTs + 1) / 1000) * 1000 + 1000;
}

function ffmpegArgs(input: string, passes: number, muxer: "mpegts" | "null", out: string): string[] {
  const loop = passes > 1 ? ["-stream_loop", String(passes - 1)] : [];
  return ["-nostdin", "-v", "error", ...loop, "-i", input, "-c", "copy", "-f", muxer, ...(muxer === "mpegts" ? ["-y"] : []), out];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

interface Stat {
  /** Median, minimum and maximum CPU seconds per pass (60 s of media). */
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, percent. */
  spreadPct: number;
  /**
   * The least disturbed figure: the minimum (for ffmpeg's mux only, the difference of the two
   * minima). Neighbours' load only adds CPU time (shared caches, memory bandwidth), so on a
   * busy machine this is steadier than the median.
   */
  best: number;
}

function stat(perPass: readonly number[]): Stat {
  const med = median(perPass);
  const min = Math.min(...perPass);
  const max = Math.max(...perPass);
  return { median: med, min, max, spreadPct: ((max - min) / med) * 100, best: min };
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);
const ms = (s: number): string => (s * 1000).toFixed(1);
const rate = (bytes: number, s: number): string => {
  const v = bytes / s / 1e6;
  return v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US");
};
const x = (r: number): string => `${r.toFixed(2)}x`;

async function main(): Promise<void> {
  const started = Date.now();
  const ffmpeg = ffmpegVersion();
  ffprobeAvailable();
  const { file: input, made } = ensureInput(log);
  const flvSize = statSync(input).size;
  const flv: FlvFile = parseFlv(readFileSync(input));
  log(
    `ts-mux: input ${input}${made ? " (new)" : " (cached)"}: ${mb(flvSize)} MB, ${flv.videoFrames} video frames ` +
      `(${flv.keyframes} keyframes), ${flv.audioFrames} audio frames, ${mb(flv.avBodyBytes)} MB of tag bodies`,
  );

  // Sanity: one pass of ours to a file, read back by us and by ffprobe.
  const work = path.join(cacheDir(), `ts-mux-${process.pid}`);
  mkdirSync(work, { recursive: true });
  let oursTs: { bytes: number; structure: ReturnType<typeof checkTsStructure>; segments: number; buffers: number };
  let ffmpegTs: { bytes: number; video: number; audio: number };
  try {
    const keep: Buffer[] = [];
    const bytes = muxPass(newSegmenter(), flv.tags, 0, keep);
    const ts = Buffer.concat(keep);
    if (ts.length !== bytes) throw new Error("muxPass byte count disagrees with its output");
    const structure = checkTsStructure(ts);
    const oursFile = path.join(work, "ours.ts");
    writeFileSync(oursFile, ts);
    compareWithFlv(ffprobePackets(oursFile), flv);
    oursTs = { bytes, structure, segments: structure.pat, buffers: keep.length };
    log(
      `ts-mux: sanity OK: our TS (${mb(bytes)} MB, ${structure.pat} segments' PAT/PMT, ${structure.pcr} PCRs) reads back in ffprobe ` +
        `as ${flv.videoFrames} video + ${flv.audioFrames} audio packets with the FLV's PTS/DTS`,
    );
    const ffFile = path.join(work, "ffmpeg.ts");
    timeChild("ffmpeg", ffmpegArgs(input, 1, "mpegts", ffFile));
    const n = countPackets(ffprobePackets(ffFile));
    ffmpegTs = { bytes: statSync(ffFile).size, ...n };
    if (n.video !== flv.videoFrames || n.audio !== flv.audioFrames) {
      throw new Error(`ffmpeg's TS reads as ${n.video} video + ${n.audio} audio packets, the FLV has ${flv.videoFrames} + ${flv.audioFrames}`);
    }
    const sizeRatio = ffmpegTs.bytes / oursTs.bytes;
    if (sizeRatio < 0.8 || sizeRatio > 1.25) {
      throw new Error(`TS sizes differ too much to compare: ours ${oursTs.bytes} B, ffmpeg's ${ffmpegTs.bytes} B`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const loadBefore = os.loadavg().map((l) => l.toFixed(1)).join(" ");
  // Interleaved rounds: each of the four jobs once per round, each a fresh process.
  const oursRuns: Run[] = [];
  const oursStgcRuns: Run[] = [];
  const allocRuns: Run[] = [];
  const ffTs: Run[] = [];
  const ffNull: Run[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const [v, runs] of [[OURS_VARIANTS[0], oursRuns], [OURS_VARIANTS[1], oursStgcRuns], [OURS_VARIANTS[2], allocRuns]] as const) {
      const o = oursChild(v.flags, v.mode, input, PASSES);
      if (o.tsBytes !== oursTs.bytes * PASSES) throw new Error(`round ${r + 1}: ${v.key} made ${o.tsBytes} B, expected ${oursTs.bytes * PASSES}`);
      runs.push(o);
    }
    ffTs.push(timeChild("ffmpeg", ffmpegArgs(input, PASSES, "mpegts", "/dev/null")));
    ffNull.push(timeChild("ffmpeg", ffmpegArgs(input, PASSES, "null", "-")));
    log(
      `ts-mux: round ${r + 1}/${RUNS}: CPU s per ${PASSES} passes: ours ${oursRuns[r]!.cpu.toFixed(3)}, ours --single-threaded-gc ` +
        `${oursStgcRuns[r]!.cpu.toFixed(3)}, Buffers only ${allocRuns[r]!.cpu.toFixed(3)}, ffmpeg mpegts ${ffTs[r]!.cpu.toFixed(3)}, ffmpeg null ${ffNull[r]!.cpu.toFixed(3)}`,
    );
  }

  const per = (runs: readonly Run[]): number[] => runs.map((r) => r.cpu / PASSES);
  const oursStat = stat(per(oursRuns));
  const oursStgcStat = stat(per(oursStgcRuns));
  const allocStat = stat(per(allocRuns));
  const wholeStat = stat(per(ffTs));
  const nullStat = stat(per(ffNull));
  // The mux-only figure is the difference of the medians; its min-max are of the per-round differences.
  const muxOnlyRuns = ffTs.map((r, i) => (r.cpu - ffNull[i]!.cpu) / PASSES);
  const muxOnly: Stat = { ...stat(muxOnlyRuns), median: wholeStat.median - nullStat.median, best: wholeStat.min - nullStat.min };
  muxOnly.spreadPct = ((muxOnly.max - muxOnly.min) / muxOnly.median) * 100;

  const inBytes = flv.avBodyBytes;
  const ratio = (ours: Stat, theirs: Stat): { median: number; best: number } => ({
    median: theirs.median / ours.median,
    best: theirs.best / ours.best,
  });
  const ratios = {
    oursOverFfmpegMuxOnly: ratio(oursStat, muxOnly),
    oursOverFfmpegWhole: ratio(oursStat, wholeStat),
    oursSingleThreadedGcOverFfmpegMuxOnly: ratio(oursStgcStat, muxOnly),
    oursSingleThreadedGcOverFfmpegWhole: ratio(oursStgcStat, wholeStat),
  };
  const rx = (r: { median: number; best: number }): string => `${x(r.median)} (best: ${x(r.best)})`;
  const mediaSeconds = flv.durationMs / 1000;

  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const now = new Date();
  const row = (name: string, s: Stat, outBytes: number | null): string =>
    `| ${name} | ${ms(s.median)} | ${ms(s.min)}-${ms(s.max)} (${s.spreadPct.toFixed(0)} %) | ${ms(s.best)} | ${rate(inBytes, s.median)} | ${
      outBytes === null ? "-" : rate(outBytes, s.median)
    } | ${Math.round(mediaSeconds / s.median).toLocaleString("en-US")} |`;
  const md = [
    `TS mux benchmark, ${now.toISOString()}; ${machine}; ${ffmpeg}.`,
    "",
    `Input: ${INPUT_DESCRIPTION}: ${mb(flvSize)} MB FLV, ${flv.videoFrames} video frames (${flv.keyframes} keyframes), ${flv.audioFrames} AAC frames, ${mb(inBytes)} MB of audio/video tag bodies (the input MB/s below).`,
    `Output per pass: ours ${mb(oursTs.bytes)} MB of TS (PAT/PMT at each of ${oursTs.segments} 2 s segments), ffmpeg's mpegts ${mb(ffmpegTs.bytes)} MB (its defaults); each row's output MB/s is of its own size.`,
    `CPU = user + sys seconds of the process, all threads (ours: process.cpuUsage() around the muxing loop in a fresh Node process, after 3 untimed passes; ffmpeg: the child's rusage), per pass of the 60 s file; median of ${RUNS} interleaved rounds of ${PASSES} passes each (ffmpeg: -stream_loop ${PASSES - 1}).`,
    "",
    "| what | CPU ms per pass (60 s of media), median | min-max (spread) | best | input MB/s | output MB/s | x real time, one core |",
    "|---|--:|--:|--:|--:|--:|--:|",
    row("ours: TsMuxer, one call per tag, startSegment() every 2 s (Node defaults, as the server runs)", oursStat, oursTs.bytes),
    row("ours, node --single-threaded-gc (diagnostic: without V8's GC helper threads)", oursStgcStat, oursTs.bytes),
    row("(diagnostic: the Buffers alone, Node defaults: allocate + fill one per call, no muxing)", allocStat, oursTs.bytes),
    row("ffmpeg mpegts mux only (mpegts - null)", muxOnly, ffmpegTs.bytes),
    row("ffmpeg whole: -c copy -f mpegts -y /dev/null", wholeStat, ffmpegTs.bytes),
    row("ffmpeg demux + startup: -c copy -f null -", nullStat, null),
    "",
    `Ratio ours / ffmpeg in throughput (= ffmpeg CPU / our CPU; above 1: we are faster), of the medians (of the best runs): ${rx(ratios.oursOverFfmpegMuxOnly)} against ffmpeg's mux only, ` +
      `${rx(ratios.oursOverFfmpegWhole)} against ffmpeg's whole job; with --single-threaded-gc ${rx(ratios.oursSingleThreadedGcOverFfmpegMuxOnly)} and ${rx(ratios.oursSingleThreadedGcOverFfmpegWhole)}.`,
    `MB/s and x real time are of the medians. Min-max of ffmpeg's mux only is of the per-round differences; its best is min(mpegts) - min(null). Load average during the runs: ${loadBefore} at the start, ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} at the end (${cpus.length} cores).`,
    "",
    "Notes:",
    "- ffmpeg's mux-only cost is the h264_mp4toannexb bitstream filter (AVCC to Annex B, SPS/PPS before IDR) plus the mpegts muxer (PES, ADTS headers, AUDs, 188-byte packets) plus its buffered writes to /dev/null: the work our one call per frame does, except that ours writes nothing: it returns the packets as a view of a 1 MiB slab it fills in place.",
    "- ffmpeg's whole job adds process startup (once per run, amortized over the passes) and FLV demux, which ours does not do (the FLV is parsed into tags in JS before timing; the server gets them from RTMP).",
    `- Ours includes the JS wrapper (timestamp check, one subarray view per call, a new 1 MiB slab when one is full), the Node-API call and the GC. The --single-threaded-gc row shows how much of our cost is V8's parallel GC threads; the Buffers-alone row is what allocating, filling and collecting ${oursTs.buffers.toLocaleString("en-US")} separate Buffers (${mb(oursTs.bytes)} MB) per pass would cost without any muxing (the design before the slab).`,
    `- Sanity: one pass of ours read back by ffprobe as ${flv.videoFrames} video + ${flv.audioFrames} audio packets with the FLV's PTS/DTS, sync bytes and continuity counters checked; ffmpeg's output reads as ${ffmpegTs.video} video + ${ffmpegTs.audio} audio packets.`,
  ].join("\n") + "\n";
  process.stdout.write("\n" + md);

  const date = now.toISOString().slice(0, 10);
  const dir = path.join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `ts-mux-${date}`);
  writeFileSync(`${base}.md`, md);
  const figures = (s: Stat, outBytes: number | null) => ({
    cpuMsPerPass: { median: s.median * 1000, min: s.min * 1000, max: s.max * 1000, spreadPct: s.spreadPct, best: s.best * 1000 },
    inputMBps: inBytes / s.median / 1e6,
    outputMBps: outBytes === null ? null : outBytes / s.median / 1e6,
    realTimeFactor: mediaSeconds / s.median,
  });
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        date: now.toISOString(),
        machine: { cpu: cpus[0]?.model.trim() ?? null, cores: cpus.length, node: process.version, os: `${os.platform()} ${os.release()}` },
        ffmpeg,
        options: { runs: RUNS, passes: PASSES, segmentMs: SEGMENT_MS },
        loadAverage: { start: loadBefore, end: os.loadavg().map((l) => l.toFixed(1)).join(" ") },
        input: {
          description: INPUT_DESCRIPTION,
          flvBytes: flvSize,
          avBodyBytes: inBytes,
          videoFrames: flv.videoFrames,
          keyframes: flv.keyframes,
          audioFrames: flv.audioFrames,
          mediaSeconds,
        },
        output: { oursTsBytes: oursTs.bytes, oursTsPackets: oursTs.structure.pids, oursSegments: oursTs.segments, ffmpegTsBytes: ffmpegTs.bytes },
        perPass: {
          ours: figures(oursStat, oursTs.bytes),
          oursSingleThreadedGc: figures(oursStgcStat, oursTs.bytes),
          buffersOnly: figures(allocStat, oursTs.bytes),
          ffmpegMuxOnly: figures(muxOnly, ffmpegTs.bytes),
          ffmpegWhole: figures(wholeStat, ffmpegTs.bytes),
          ffmpegNull: figures(nullStat, null),
        },
        ratio: ratios,
        runs: { ours: oursRuns, oursSingleThreadedGc: oursStgcRuns, buffersOnly: allocRuns, ffmpegMpegts: ffTs, ffmpegNull: ffNull },
      },
      null,
      2,
    ) + "\n",
  );
  log(`ts-mux: wrote ${path.relative(process.cwd(), base)}.md and .json in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

(process.argv.includes("--child") ? Promise.resolve().then(childMain) : main()).catch((err: unknown) => {
  process.stderr.write(`\nts-mux: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
