/**
 * The input: 60 s of 1280x720 25 fps H.264 (libx264 veryfast, High profile, 2 Mbps with
 * maxrate/bufsize as a live encoder runs, a keyframe every 2 s exactly, 3 B-frames) + AAC-LC
 * 128 kbps 44.1 kHz stereo, as an FLV file, made once with ffmpeg's lavfi sources (testsrc2 +
 * sine) and cached in the OS temp directory (or $SLUICE_BENCH_CACHE) under a name that
 * hashes the command and the ffmpeg version, so a change to either makes a new file.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const INPUT_SECONDS = 60;

export const INPUT_DESCRIPTION =
  "60 s, H.264 High 1280x720 25 fps (libx264 veryfast, 2 Mbps, maxrate 2 Mbps, bufsize 4 Mbit, keyframe every 50 frames = 2 s, " +
  "no scene-cut keyframes, 3 B-frames) + AAC-LC 128 kbps 44.1 kHz stereo, from ffmpeg lavfi testsrc2 + sine, as FLV";

function encodeArgs(out: string): string[] {
  const s = String(INPUT_SECONDS);
  return [
    "-nostdin", "-v", "error",
    "-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=25:duration=${s}`,
    "-f", "lavfi", "-i", `sine=frequency=440:beep_factor=4:sample_rate=44100:duration=${s}`,
    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-b:v", "2000k", "-maxrate", "2000k", "-bufsize", "4000k",
    "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "3",
    "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "44100",
    "-shortest", "-f", "flv", "-y", out,
  ];
}

export function ffmpegVersion(): string {
  const r = spawnSync("ffmpeg", ["-version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`ffmpeg not runnable: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split("\n")[0]!.trim();
}

export function ffprobeAvailable(): void {
  const r = spawnSync("ffprobe", ["-version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`ffprobe not runnable: ${r.error?.message ?? r.stderr}`);
}

export function cacheDir(): string {
  return process.env["SLUICE_BENCH_CACHE"] ?? path.join(os.tmpdir(), "sluice-bench");
}

/** The cached FLV's path, encoding it first if it is not there yet. */
export function ensureInput(log: (s: string) => void): { file: string; made: boolean } {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const key = createHash("sha256")
    .update(ffmpegVersion())
    .update(JSON.stringify(encodeArgs("OUT")))
    .digest("hex")
    .slice(0, 12);
  const file = path.join(dir, `ts-mux-input-${key}.flv`);
  if (existsSync(file)) return { file, made: false };
  const tmp = `${file}.${process.pid}.tmp.flv`;
  log(`ts-mux: encoding the input once (${INPUT_SECONDS} s of 720p H.264 + AAC) to ${file} ...`);
  const r = spawnSync("ffmpeg", encodeArgs(tmp), { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`ffmpeg could not make the input: ${r.error?.message ?? r.stderr}`);
  }
  renameSync(tmp, file); // atomic: a concurrent run sees the whole file or none
  return { file, made: true };
}
