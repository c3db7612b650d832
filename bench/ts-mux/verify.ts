/**
 * Sanity checks of a muxed transport stream: its structure read here in JS (188-byte packets,
 * sync bytes, continuity counters per PID, PAT/PMT and PCR present), then ffprobe's reading
 * of it packet by packet, compared with the FLV's frames: the same number of video and audio
 * packets, with the PTS/DTS the FLV timestamps give.
 */
import { spawnSync } from "node:child_process";
import type { FlvFile } from "./flv.js";

export interface TsStructure {
  packets: number;
  pat: number;
  pcr: number;
  pids: Record<string, number>;
}

export function checkTsStructure(ts: Buffer): TsStructure {
  if (ts.length === 0 || ts.length % 188 !== 0) throw new Error(`TS of ${ts.length} bytes is not whole 188-byte packets`);
  const cc = new Map<number, number>();
  const pids: Record<string, number> = {};
  let pat = 0;
  let pcr = 0;
  for (let at = 0; at < ts.length; at += 188) {
    if (ts[at] !== 0x47) throw new Error(`TS packet ${at / 188}: no sync byte`);
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    const afc = (ts[at + 3]! >> 4) & 3;
    const counter = ts[at + 3]! & 0x0f;
    const key = `0x${pid.toString(16)}`;
    pids[key] = (pids[key] ?? 0) + 1;
    if (pid === 0) pat++;
    if (afc & 2 && ts[at + 4]! > 0 && ts[at + 5]! & 0x10) pcr++;
    if (afc & 1) {
      const prev = cc.get(pid);
      if (prev !== undefined && counter !== ((prev + 1) & 0x0f)) {
        throw new Error(`TS packet ${at / 188}: PID ${key} continuity counter ${counter} after ${prev}`);
      }
      cc.set(pid, counter);
    }
  }
  if (pat === 0) throw new Error("TS has no PAT");
  if (pcr === 0) throw new Error("TS has no PCR");
  return { packets: ts.length / 188, pat, pcr, pids };
}

export interface ProbedPacket {
  type: "video" | "audio";
  pts: number;
  dts: number;
}

/** ffprobe -show_packets of a file: every packet's type, PTS and DTS (90 kHz for TS). */
export function ffprobePackets(file: string): ProbedPacket[] {
  const r = spawnSync(
    "ffprobe",
    ["-v", "error", "-show_packets", "-show_entries", "packet=codec_type,pts,dts", "-of", "csv=p=0", file],
    { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.error || r.status !== 0 || r.stderr.trim() !== "") {
    throw new Error(`ffprobe ${file}: exit ${r.status}, ${r.error?.message ?? r.stderr.trim()}`);
  }
  const out: ProbedPacket[] = [];
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [type, pts, dts] = line.trim().split(",");
    if (type !== "video" && type !== "audio") throw new Error(`ffprobe: unexpected packet line "${line}"`);
    out.push({ type, pts: Number(pts), dts: Number(dts) });
  }
  return out;
}

export function countPackets(p: readonly ProbedPacket[]): { video: number; audio: number } {
  let video = 0;
  let audio = 0;
  for (const x of p) if (x.type === "video") video++;
  else audio++;
  return { video, audio };
}

/**
 * Throws unless ffprobe read one video packet per FLV video frame and one audio packet per
 * FLV audio frame, each with PTS (and video DTS) = the FLV time in ms x 90, in order.
 */
export function compareWithFlv(probed: readonly ProbedPacket[], flv: FlvFile): void {
  const n = countPackets(probed);
  if (n.video !== flv.videoFrames || n.audio !== flv.audioFrames) {
    throw new Error(
      `ffprobe read ${n.video} video and ${n.audio} audio packets in our TS; the FLV has ${flv.videoFrames} and ${flv.audioFrames} frames`,
    );
  }
  const v = probed.filter((p) => p.type === "video");
  const a = probed.filter((p) => p.type === "audio");
  let vi = 0;
  let ai = 0;
  for (const t of flv.tags) {
    if (!t.frame) continue;
    if (t.type === 9) {
      const p = v[vi++]!;
      if (p.pts !== (t.timestamp + t.cts) * 90 || p.dts !== t.timestamp * 90) {
        throw new Error(`video packet ${vi - 1}: ffprobe PTS/DTS ${p.pts}/${p.dts}, FLV ${(t.timestamp + t.cts) * 90}/${t.timestamp * 90}`);
      }
    } else {
      const p = a[ai++]!;
      if (p.pts !== t.timestamp * 90) throw new Error(`audio packet ${ai - 1}: ffprobe PTS ${p.pts}, FLV ${t.timestamp * 90}`);
    }
  }
}
