/**
 * Test media generated with ffmpeg from lavfi sources (testsrc2 + sine), once per machine.
 *
 * Files are cached in $SLUICE_FIXTURES_DIR or os.tmpdir()/sluice-fixtures, named
 * `<kind>-<hash of the ffmpeg arguments>.flv`: changing a row of FIXTURES makes a new file.
 * Generation writes to a unique temp name and renames it into place, so parallel workers
 * (or parallel vitest runs) may race harmlessly.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type FixtureKind = 'h264-aac' | 'h264-aac-500k' | 'h264-bframes' | 'aac-only' | 'h264-only';

export interface FixtureSpec {
  readonly description: string;
  /** ffmpeg arguments between `ffmpeg -hide_banner -loglevel error -y` and the output path. */
  readonly args: readonly string[];
  /** What the file holds; the harness self-test checks these with ffprobe. */
  readonly expect: {
    readonly durationSec: number;
    readonly video?: {
      readonly codec: 'h264';
      readonly width: number;
      readonly height: number;
      readonly fps: number;
      readonly gopSec: number;
      readonly bFrames: boolean;
      readonly kbps?: number;
    };
    readonly audio?: { readonly codec: 'aac'; readonly sampleRate: number; readonly channels: number };
  };
}

const videoSrc = (size: string, seconds: number): string[] => [
  '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`,
];
const audioSrc = (seconds: number): string[] => [
  '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
];
/** x264 at 25 fps with a fixed 2 s GOP (keyframe every 50 frames, no scene-cut keyframes). */
const x264 = (profile: string, bframes: number): string[] => [
  '-c:v', 'libx264', '-profile:v', profile, '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
  '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-bf', String(bframes),
];
const aac = (kbps: number): string[] => ['-c:a', 'aac', '-b:a', `${kbps}k`, '-ar', '44100', '-ac', '2'];

const AUDIO = { codec: 'aac', sampleRate: 44100, channels: 2 } as const;

/** The one table of fixture recipes. */
export const FIXTURES: Readonly<Record<FixtureKind, FixtureSpec>> = {
  'h264-aac': {
    description: '10 s, 320x240 25 fps H.264 baseline (2 s GOP, no B-frames) + AAC 44.1 kHz stereo',
    args: [
      ...videoSrc('320x240', 10), ...audioSrc(10), '-map', '0:v', '-map', '1:a',
      ...x264('baseline', 0), ...aac(128), '-shortest', '-f', 'flv',
    ],
    expect: {
      durationSec: 10,
      video: { codec: 'h264', width: 320, height: 240, fps: 25, gopSec: 2, bFrames: false },
      audio: AUDIO,
    },
  },
  'h264-aac-500k': {
    description: '20 s, 640x360 25 fps H.264 main ~500 kbps (2 s GOP) + AAC 64 kbps, for load tests',
    args: [
      ...videoSrc('640x360', 20), ...audioSrc(20), '-map', '0:v', '-map', '1:a',
      ...x264('main', 0), '-b:v', '500k', '-maxrate', '500k', '-bufsize', '1000k',
      ...aac(64), '-shortest', '-f', 'flv',
    ],
    expect: {
      durationSec: 20,
      video: { codec: 'h264', width: 640, height: 360, fps: 25, gopSec: 2, bFrames: false, kbps: 500 },
      audio: AUDIO,
    },
  },
  'h264-bframes': {
    description: '10 s, 320x240 25 fps H.264 main with 2 B-frames per P (composition times) + AAC',
    args: [
      ...videoSrc('320x240', 10), ...audioSrc(10), '-map', '0:v', '-map', '1:a',
      ...x264('main', 2), '-x264-params', 'b-adapt=0', ...aac(128), '-shortest', '-f', 'flv',
    ],
    expect: {
      durationSec: 10,
      video: { codec: 'h264', width: 320, height: 240, fps: 25, gopSec: 2, bFrames: true },
      audio: AUDIO,
    },
  },
  'aac-only': {
    description: '10 s AAC 44.1 kHz stereo, no video',
    args: [...audioSrc(10), ...aac(128), '-f', 'flv'],
    expect: { durationSec: 10, audio: AUDIO },
  },
  'h264-only': {
    description: '10 s, 320x240 25 fps H.264 baseline (2 s GOP), no audio',
    args: [...videoSrc('320x240', 10), ...x264('baseline', 0), '-f', 'flv'],
    expect: {
      durationSec: 10,
      video: { codec: 'h264', width: 320, height: 240, fps: 25, gopSec: 2, bFrames: false },
    },
  },
};

export const FIXTURE_KINDS = Object.keys(FIXTURES) as FixtureKind[];

export function fixtureDir(): string {
  return process.env['SLUICE_FIXTURES_DIR'] ?? path.join(os.tmpdir(), 'sluice-fixtures');
}

/** Where `kind` is (or will be) cached. */
export function fixturePath(kind: FixtureKind): string {
  const spec = FIXTURES[kind];
  const hash = createHash('sha256').update(JSON.stringify(spec.args)).digest('hex').slice(0, 16);
  return path.join(fixtureDir(), `${kind}-${hash}.flv`);
}

const pending = new Map<FixtureKind, Promise<string>>();

/** Path of the fixture file, generating it first if this machine does not have it yet. */
export function testMedia(kind: FixtureKind): Promise<string> {
  if (!(kind in FIXTURES)) return Promise.reject(new Error(`testMedia: unknown fixture "${kind}"`));
  let p = pending.get(kind);
  if (!p) {
    p = generate(kind);
    pending.set(kind, p);
    p.catch(() => pending.delete(kind));
  }
  return p;
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

async function generate(kind: FixtureKind): Promise<string> {
  const out = fixturePath(kind);
  if (await exists(out)) return out;
  await mkdir(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...FIXTURES[kind].args, tmp];
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('ffmpeg', args, { timeout: 120_000, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`ffmpeg failed making fixture "${kind}": ${err.message}\n${stderr}`));
        else resolve();
      });
    });
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
  return out;
}
