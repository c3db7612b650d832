/**
 * Real RTMP clients for end-to-end tests: ffmpeg (publish, record), ffprobe (probe,
 * packets) and rtmpdump (play). Every child is tracked (procs.ts): it is killed when the
 * test ends even if the test forgets it, and each helper bounds its own run time.
 */
import type { ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { collectLines, spawnTracked, stopProcess, tail, type TrackedProcess } from './procs.js';

export { analyzeTimestamps, isAudioFrame, isVideoFrame, parseFlv, readFlvFile } from './flv.js';
export type { FlvFile, FlvHeader, FlvTag, TimestampReport, TrackTimestamps } from './flv.js';

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string[];
  timedOut: boolean;
}

/** Runs a tool to completion; after `timeoutMs` it gets SIGTERM (SIGKILL 3 s later). */
function run(cmd: string, args: string[], timeoutMs: number, name = cmd): Promise<RunResult> {
  const entry = spawnTracked(cmd, args, { name });
  const stderr: string[] = [];
  entry.logs = stderr;
  collectLines(entry.proc.stderr, stderr, { max: 500 });
  const chunks: Buffer[] = [];
  entry.proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  let timedOut = false;
  let spawnError: Error | undefined;
  entry.proc.on('error', (err) => {
    spawnError = err;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    void stopProcess(entry);
  }, timeoutMs);
  return entry.exited.then(async () => {
    clearTimeout(timer);
    if (spawnError) throw new Error(`${name}: cannot run ${cmd}: ${spawnError.message}`);
    await streamsClosed(entry.proc);
    return {
      code: entry.proc.exitCode,
      signal: entry.proc.signalCode,
      stdout: Buffer.concat(chunks).toString('utf8'),
      stderr,
      timedOut,
    };
  });
}

/** 'exit' can come before the last stdout/stderr data; wait for the pipes to close. */
function streamsClosed(proc: ChildProcess): Promise<void> {
  if (proc.stdout === null && proc.stderr === null) return Promise.resolve();
  return new Promise((resolve) => {
    if (proc.stdout?.closed !== false && proc.stderr?.closed !== false) return resolve();
    proc.once('close', () => resolve());
    setTimeout(resolve, 500).unref();
  });
}

function failure(what: string, args: string[], r: RunResult): Error {
  const how = r.timedOut ? 'timed out' : `exited with code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}`;
  return new Error(`${what} ${how}\n  $ ${args.join(' ')}\n${tail(r.stderr, 30)}`);
}

// ---------------------------------------------------------------------------------------
// publish

export interface PublishOptions {
  /** Loop the file forever (`-stream_loop -1`). Default false. */
  loop?: boolean;
  /** Read at native frame rate (`-re`), like a live encoder. Default true. */
  re?: boolean;
  /** Kill after this long (default: 120 s; a looping publisher usually ends by stop()). */
  timeoutMs?: number;
  /** Extra output options placed before `-f flv`. */
  outputArgs?: string[];
}

export interface Publisher {
  readonly process: ChildProcess;
  readonly pid: number | undefined;
  /** ffmpeg's stderr lines. */
  readonly logs: string[];
  /**
   * Resolves once ffmpeg has opened the RTMP output (connected, `publish` accepted);
   * rejects if ffmpeg exits first.
   */
  readonly ready: Promise<void>;
  /** Resolves when ffmpeg exits (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Graceful stop: SIGTERM (ffmpeg unpublishes and closes), SIGKILL after 3 s. */
  stop(): Promise<void>;
  /** Abrupt stop: SIGKILL, the TCP connection just drops. */
  kill(): Promise<void>;
}

/** `ffmpeg [-re] [-stream_loop -1] -i file -c copy -f flv url` */
export function publish(file: string, url: string, opts: PublishOptions = {}): Publisher {
  const args = [
    '-hide_banner', '-loglevel', 'info', '-nostats', '-nostdin',
    ...(opts.re === false ? [] : ['-re']),
    ...(opts.loop ? ['-stream_loop', '-1'] : []),
    '-i', file, '-c', 'copy', ...(opts.outputArgs ?? []), '-f', 'flv', url,
  ];
  const entry: TrackedProcess = spawnTracked('ffmpeg', args, { name: `ffmpeg publish ${url}` });
  const logs: string[] = [];
  entry.logs = logs;
  let opened = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {}); // only an error if someone awaits it
  collectLines(entry.proc.stderr, logs, {
    max: 1000,
    onLine: (line) => {
      // av_dump_format prints "Output #0, flv, to '<url>':" once the output is open.
      if (!opened && /^Output #0\b/.test(line)) {
        opened = true;
        resolveReady();
      }
    },
  });
  entry.proc.on('error', (err) => rejectReady(new Error(`publish: cannot run ffmpeg: ${err.message}`)));
  const timer = setTimeout(() => void stopProcess(entry), opts.timeoutMs ?? 120_000);
  const exited = entry.exited.then(async () => {
    clearTimeout(timer);
    await streamsClosed(entry.proc);
    if (!opened) {
      rejectReady(
        new Error(`publish to ${url} failed: ffmpeg exited with code ${entry.proc.exitCode}\n${tail(logs, 30)}`),
      );
    }
    return { code: entry.proc.exitCode, signal: entry.proc.signalCode };
  });
  return {
    process: entry.proc,
    pid: entry.proc.pid,
    logs,
    ready,
    exited,
    stop: () => stopProcess(entry, { signal: 'SIGTERM', graceMs: 3000 }),
    kill: () => stopProcess(entry, { signal: 'SIGKILL', graceMs: 1000 }),
  };
}

// ---------------------------------------------------------------------------------------
// ffprobe

export interface ProbeStream {
  index: number;
  codec_type: 'video' | 'audio' | 'data' | 'subtitle' | string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  has_b_frames?: number;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  bit_rate?: string;
  duration?: string;
  start_time?: string;
  [key: string]: unknown;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: {
    format_name?: string;
    duration?: string;
    size?: string;
    bit_rate?: string;
    start_time?: string;
    tags?: Record<string, string>;
    [key: string]: unknown;
  };
}

/** ffmpeg's -rw_timeout (µs) for network inputs: gives up when no data comes for that long. */
function rwTimeout(url: string, ms: number): string[] {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? ['-rw_timeout', String(Math.max(1, Math.round(ms * 1000)))] : [];
}

/** `ffprobe -v error -show_streams -show_format -of json url` */
export async function probe(url: string, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const args = ['-v', 'error', ...rwTimeout(url, Math.min(timeoutMs, 10_000)), '-show_streams', '-show_format', '-of', 'json', url];
  const r = await run('ffprobe', args, timeoutMs, `ffprobe ${url}`);
  if (r.code !== 0) throw failure(`ffprobe ${url}`, ['ffprobe', ...args], r);
  const parsed = JSON.parse(r.stdout) as Partial<ProbeResult>;
  return { streams: parsed.streams ?? [], format: parsed.format ?? {} };
}

export interface ProbePacket {
  codecType: 'video' | 'audio' | string;
  streamIndex: number;
  /** Seconds, or null when ffprobe reports N/A. */
  ptsTime: number | null;
  dtsTime: number | null;
  keyframe: boolean;
  /** ffprobe's flags string, e.g. "K_". */
  flags: string;
  size: number;
}

/**
 * Packets of the first `seconds` of `url` (a stream or a file; all of a file when seconds
 * is omitted): `ffprobe -show_packets -read_intervals %+N -of json`.
 */
export async function probeFrames(
  url: string,
  opts: { seconds?: number; timeoutMs?: number } = {},
): Promise<ProbePacket[]> {
  const timeoutMs = opts.timeoutMs ?? (opts.seconds ?? 10) * 1000 + 15_000;
  const args = [
    '-v', 'error', ...rwTimeout(url, 10_000),
    ...(opts.seconds !== undefined ? ['-read_intervals', `%+${opts.seconds}`] : []),
    '-show_entries', 'packet=codec_type,stream_index,pts_time,dts_time,flags,size',
    '-of', 'json', url,
  ];
  const r = await run('ffprobe', args, timeoutMs, `ffprobe packets ${url}`);
  if (r.code !== 0) throw failure(`ffprobe packets ${url}`, ['ffprobe', ...args], r);
  const parsed = JSON.parse(r.stdout) as { packets?: Array<Record<string, string | number>> };
  const num = (v: string | number | undefined): number | null =>
    v === undefined || v === 'N/A' ? null : Number(v);
  return (parsed.packets ?? []).map((p) => ({
    codecType: String(p['codec_type']),
    streamIndex: Number(p['stream_index']),
    ptsTime: num(p['pts_time']),
    dtsTime: num(p['dts_time']),
    keyframe: String(p['flags'] ?? '').includes('K'),
    flags: String(p['flags'] ?? ''),
    size: Number(p['size'] ?? 0),
  }));
}

// ---------------------------------------------------------------------------------------
// recording players

/** `ffmpeg -i url -c copy -t N -f flv out`: plays `seconds` of media into an FLV file. */
export async function recordFlv(
  url: string,
  outFile: string,
  opts: { seconds: number; timeoutMs?: number },
): Promise<{ file: string; logs: string[] }> {
  const timeoutMs = opts.timeoutMs ?? opts.seconds * 1000 + 20_000;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...rwTimeout(url, 10_000),
    '-i', url, '-c', 'copy', '-t', String(opts.seconds), '-f', 'flv', outFile,
  ];
  const r = await run('ffmpeg', args, timeoutMs, `ffmpeg record ${url}`);
  if (r.code !== 0) throw failure(`recordFlv ${url}`, ['ffmpeg', ...args], r);
  return { file: outFile, logs: r.stderr };
}

export interface RtmpdumpResult {
  file: string;
  bytes: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  logs: string[];
}

/**
 * `rtmpdump -r url -o out --live -B seconds -m 10`. rtmpdump ignores -B (stop) on live
 * streams, so it is also stopped with SIGINT (it then closes the file cleanly) `seconds`
 * after its first media bytes. Rejects if nothing arrives within `timeoutMs`.
 */
export async function rtmpdump(
  url: string,
  outFile: string,
  opts: { seconds: number; timeoutMs?: number },
): Promise<RtmpdumpResult> {
  const timeoutMs = opts.timeoutMs ?? opts.seconds * 1000 + 15_000;
  const args = ['-r', url, '-o', outFile, '--live', '-B', String(opts.seconds), '-m', '10'];
  const entry = spawnTracked('rtmpdump', args, { name: `rtmpdump ${url}` });
  const logs: string[] = [];
  entry.logs = logs;
  collectLines(entry.proc.stderr, logs, { max: 500 });
  let spawnError: Error | undefined;
  entry.proc.on('error', (err) => {
    spawnError = err;
  });
  const sizeOf = async (): Promise<number> => {
    try {
      return (await stat(outFile)).size;
    } catch {
      return 0;
    }
  };
  let done = false;
  void entry.exited.then(() => {
    done = true;
  });
  const started = Date.now();
  let firstBytesAt: number | undefined;
  let timedOut = false;
  while (!done) {
    await new Promise((r) => setTimeout(r, 100));
    if (done) break;
    const now = Date.now();
    // 13 bytes = FLV header + PreviousTagSize0; more means media arrived.
    if (firstBytesAt === undefined && (await sizeOf()) > 13) firstBytesAt = now;
    if (firstBytesAt !== undefined && now - firstBytesAt >= opts.seconds * 1000) {
      await stopProcess(entry, { signal: 'SIGINT', graceMs: 3000 });
      break;
    }
    if (now - started >= timeoutMs) {
      timedOut = true;
      await stopProcess(entry, { signal: 'SIGINT', graceMs: 2000 });
      break;
    }
  }
  await entry.exited;
  await streamsClosed(entry.proc);
  if (spawnError) throw new Error(`rtmpdump: cannot run: ${spawnError.message}`);
  const bytes = await sizeOf();
  const result = { file: outFile, bytes, code: entry.proc.exitCode, signal: entry.proc.signalCode, logs };
  if (bytes <= 13) {
    const how = timedOut ? `got no media within ${timeoutMs} ms` : `exited with code ${result.code} and no media`;
    throw new Error(`rtmpdump ${url} ${how}\n  $ rtmpdump ${args.join(' ')}\n${tail(logs, 30)}`);
  }
  return result;
}
