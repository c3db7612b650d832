/**
 * DVR for one publish of one stream: a Source consumer that records to FLV, or to
 * fragmented MP4 when `dvr_path` ends in .mp4, with SRS's plans (srs_app_dvr.cpp):
 *
 * - session: one file from the first keyframe to unpublish;
 * - segment: a new file once the open one holds `dvr_duration` seconds, at the next video
 *   keyframe with `dvr_wait_keyframe on` (an audio-only stream: at the next frame), at the
 *   next frame with it off (the new file then starts mid-GOP, as SRS's does).
 *
 * Every file starts with its own header: onMetaData (FLV), the sequence headers, then a
 * random-access frame (a video keyframe; any audio frame of a stream without video). Each
 * file has its own `time_jitter` (full: from 0 and monotonic, zero: from 0, off: the
 * stream's timestamps). An MP4 file also ends where the codec parameters change (a new
 * sequence header that differs), since its tracks cannot change mid-file.
 *
 * The frame path only encodes and queues Buffers; they go to disk in batches (256 KiB or
 * 1 s, whichever comes first) on one promise chain per stream (see DvrFile), and a file is
 * renamed to its name from `dvr_path` once complete, then `onFile` hears of it (on_dvr).
 * The disk backlog is bounded: a recorder whose disk cannot keep up stops recording.
 */
import * as path from "node:path";
import type { DvrConfig } from "../../conf/config.js";
import { log } from "../../core/logger.js";
import { fillTemplate } from "../../format/hls-playlist.js";
import { MessageType } from "../../protocol/rtmp/message-types.js";
import type { Consumer } from "../../stream/consumer.js";
import type { SharedMessage } from "../../stream/shared-message.js";
import { TimeJitter } from "../../stream/time-jitter.js";
import type { DvrEncoder } from "./dvr-encoder.js";
import { DvrFile } from "./dvr-file.js";
import { DvrFlvEncoder } from "./dvr-flv-encoder.js";
import { DvrMp4Encoder } from "./dvr-mp4-encoder.js";

export interface DvrStreamIdentity {
  vhost: string;
  app: string;
  stream: string;
}

/** A file that was completed and renamed to its final name. */
export interface DvrFileWritten {
  /** The path as dvr_path makes it (relative to the working directory when dvr_path is). */
  file: string;
  durationMs: number;
  bytes: number;
}

export interface DvrRecorderStats {
  files: number;
  bytes: number;
  /** Frames not recorded: before the first keyframe of a file, or that the format cannot carry. */
  skippedFrames: number;
}

/** A batch goes to disk at this size... */
const WRITE_BYTES = 256 * 1024;
/** ...or this long after the last one. */
const WRITE_INTERVAL_MS = 1000;
/** Bytes queued for the disk beyond which the recorder gives up (a disk far slower than the stream). */
const MAX_BACKLOG = 64 * 1024 * 1024;

interface OpenFile {
  encoder: DvrEncoder;
  disk: DvrFile;
  jitter: TimeJitter;
  /** Wall-clock time of the file's start: its name's [timestamp], [2006]... */
  time: Date;
  /** Its number in the publish, from 0: the name's [seq]. */
  seq: number;
  /** The file's timestamps (after its jitter) of its first frame, and of the last of each track. */
  start: number;
  end: number;
  lastVideo: number;
  videoStep: number;
  lastAudio: number;
  audioStep: number;
  /** A video keyframe was written (video before one is skipped). */
  videoStarted: boolean;
  /** The sequence headers in the file, to tell a changed one from a repeat. */
  videoHeader: Buffer | null;
  audioHeader: Buffer | null;
  lastWriteAt: number;
}

export class DvrRecorder implements Consumer {
  readonly stats: DvrRecorderStats = { files: 0, bytes: 0, skippedFrames: 0 };
  private readonly format: "flv" | "mp4";
  /** The directory dvr_path's placeholders cannot leave ("../" in a stream name). */
  private readonly root: string;
  private metadata: SharedMessage | null = null;
  private videoHeader: SharedMessage | null = null;
  private audioHeader: SharedMessage | null = null;
  private current: OpenFile | null = null;
  /** Cut at the next random-access frame whatever the plan (MP4: codec parameters changed). */
  private forceCut = false;
  private stopped = false;
  /** Files started in this publish: the [seq] of the next one. */
  private seq = 0;
  private io: Promise<void> = Promise.resolve();
  private readonly dirs = new Set<string>();
  private readonly queue = { queue: (job: () => Promise<void>) => this.queueIo(job) };

  constructor(
    readonly id: DvrStreamIdentity,
    private readonly config: DvrConfig,
    /** Hears of each completed file (on_dvr). */
    private readonly onFile: ((f: DvrFileWritten) => void) | null = null,
  ) {
    this.format = /\.mp4$/i.test(config.path) ? "mp4" : "flv";
    this.root = templateRoot(config.path);
  }

  get key(): string {
    return `${this.id.vhost}/${this.id.app}/${this.id.stream}`;
  }

  /** The temporary path of the file being written, or "" (tests, the API). */
  get recordingPath(): string {
    return this.current?.disk.tempPath ?? "";
  }

  /** Resolves when every disk job queued so far is done (shutdown, tests). */
  settled(): Promise<void> {
    return this.io;
  }

  enqueue(msg: SharedMessage): void {
    if (this.stopped) return;
    const type = msg.type;
    if (type !== MessageType.Audio && type !== MessageType.Video) {
      // onMetaData goes at the start of the next file; other data is not recorded (as SRS).
      if (msg.isConfig) this.metadata = msg;
      return;
    }
    if (msg.isSequenceHeader) {
      this.onSequenceHeader(msg);
      return;
    }
    const cur = this.current;
    if (cur === null) {
      if (!msg.isRandomAccess) {
        this.stats.skippedFrames++;
        return;
      }
      this.open(msg, true);
      return;
    }
    // The file's time of this frame; when it starts a new file, that file's jitter starts afresh.
    const t = cur.jitter.correct(msg.timestamp);
    if (this.shouldCut(cur, msg, t)) {
      this.close(cur);
      this.open(msg, msg.isRandomAccess);
    } else {
      this.write(cur, msg, t);
    }
  }

  /** Sends what is batched when the batch is big or old enough (the Source calls it every loop turn or mw_latency). */
  flush(): void {
    const cur = this.current;
    if (cur === null) return;
    if (cur.encoder.pendingBytes >= WRITE_BYTES || (cur.encoder.pendingBytes > 0 && performance.now() - cur.lastWriteAt >= WRITE_INTERVAL_MS)) {
      this.writeOut(cur);
    }
  }

  onPublish(): void {}

  /** The publisher left: the open file is completed. */
  onUnpublish(): void {
    this.end();
  }

  /** Completes the open file and records nothing more. */
  end(): void {
    this.stopped = true;
    if (this.current !== null) this.close(this.current);
  }

  private onSequenceHeader(msg: SharedMessage): void {
    const isVideo = msg.isVideo;
    if (isVideo) this.videoHeader = msg;
    else this.audioHeader = msg;
    const cur = this.current;
    if (cur === null) return;
    const inFile = isVideo ? cur.videoHeader : cur.audioHeader;
    if (inFile !== null && inFile.equals(msg.payload)) return; // a repeat
    if (!cur.encoder.takesHeader(inFile !== null)) {
      // MP4: the file ends before the next random-access frame; the next one has the new codec.
      this.forceCut = true;
      return;
    }
    if (isVideo) cur.videoHeader = msg.payload;
    else cur.audioHeader = msg.payload;
    this.write(cur, msg, cur.jitter.correct(msg.timestamp));
  }

  /** Whether `msg`, at the file's time `t`, starts a new file: the open one would then hold dvr_duration. */
  private shouldCut(cur: OpenFile, msg: SharedMessage, t: number): boolean {
    if (this.forceCut) return msg.isRandomAccess;
    if (this.config.plan !== "segment") return false;
    if (t - cur.start < this.config.duration * 1000) return false;
    // As SRS's SrsDvrSegmentPlan::update_duration: at a keyframe, or at any frame with
    // dvr_wait_keyframe off. A stream without video has no keyframes: its audio frames are
    // random-access points.
    return !this.config.waitKeyframe || msg.isRandomAccess;
  }

  /** Starts a file at `msg` (its first frame), unless the path is refused. */
  private open(msg: SharedMessage, randomAccess: boolean): void {
    this.forceCut = false;
    const time = new Date();
    const seq = this.seq++;
    const target = fillTemplate(this.config.path, { ...this.id, seq, time });
    if (!isInside(this.root, target)) {
      log.error(0, `dvr ${this.key}: path ${JSON.stringify(target)} is outside ${this.root} (dvr_path ${this.config.path}); not recorded`);
      this.stopped = true;
      return;
    }
    const jitter = new TimeJitter(this.config.timeJitter);
    const t = jitter.correct(msg.timestamp);
    const encoder: DvrEncoder = this.format === "mp4" ? new DvrMp4Encoder() : new DvrFlvEncoder();
    encoder.begin({ metadata: this.metadata, videoHeader: this.videoHeader, audioHeader: this.audioHeader, timestamp: t });
    const disk = new DvrFile(this.queue, target, `dvr ${this.key}`, this.dirs);
    disk.open();
    const cur: OpenFile = {
      encoder,
      disk,
      jitter,
      time,
      seq,
      start: t,
      end: t,
      lastVideo: -1,
      videoStep: 0,
      lastAudio: -1,
      audioStep: 0,
      // dvr_wait_keyframe off cuts mid-GOP: that file's video goes on from where it was cut.
      videoStarted: !randomAccess,
      videoHeader: this.videoHeader?.payload ?? null,
      audioHeader: this.audioHeader?.payload ?? null,
      lastWriteAt: performance.now(),
    };
    this.current = cur;
    log.trace(0, `dvr ${this.key}: recording to ${target} (${this.config.plan}${this.config.plan === "segment" ? ` ${this.config.duration}s` : ""})`);
    this.write(cur, msg, t);
  }

  private write(cur: OpenFile, msg: SharedMessage, t: number): void {
    if (msg.isVideo && !msg.isSequenceHeader) {
      if (!cur.videoStarted) {
        if (!msg.isKeyframe) {
          this.stats.skippedFrames++;
          return;
        }
        cur.videoStarted = true;
      }
      if (cur.lastVideo >= 0 && t > cur.lastVideo) cur.videoStep = t - cur.lastVideo;
      cur.lastVideo = t;
    } else if (msg.isAudio && !msg.isSequenceHeader) {
      if (cur.lastAudio >= 0 && t > cur.lastAudio) cur.audioStep = t - cur.lastAudio;
      cur.lastAudio = t;
    }
    if (t > cur.end) cur.end = t;
    cur.encoder.write(msg, t);
  }

  private writeOut(cur: OpenFile): void {
    cur.disk.write(cur.encoder.take());
    cur.lastWriteAt = performance.now();
    if (cur.disk.failed || cur.disk.backlog > MAX_BACKLOG) {
      if (!cur.disk.failed) {
        log.error(0, `dvr ${this.key}: the disk is ${Math.round(cur.disk.backlog / 1048576)} MiB behind; recording stops for this publish`);
      }
      this.end();
    }
  }

  /** Ends `cur`: the last bytes, the patches, then the rename and on_dvr on the disk chain. */
  private close(cur: OpenFile): void {
    this.current = null;
    // The file lasts until its last frame ends: the last step of each track estimates that.
    const videoEnd = cur.lastVideo >= 0 ? cur.lastVideo + cur.videoStep : -1;
    const audioEnd = cur.lastAudio >= 0 ? cur.lastAudio + cur.audioStep : -1;
    const durationMs = Math.max(0, Math.max(videoEnd, audioEnd, cur.end) - cur.start);
    cur.disk.write(cur.encoder.take());
    const fin = cur.encoder.finish(durationMs);
    cur.disk.write(fin.parts);
    cur.disk.patch(fin.patches);
    const finalPath = fillTemplate(this.config.path, { ...this.id, seq: cur.seq, time: cur.time, durationMs });
    this.stats.skippedFrames += cur.encoder.droppedFrames;
    cur.disk.close(finalPath, (file, bytes) => {
      this.stats.files++;
      this.stats.bytes += bytes;
      log.trace(0, `dvr ${this.key}: ${file} complete (${(durationMs / 1000).toFixed(1)}s, ${bytes} bytes)`);
      this.onFile?.({ file, durationMs, bytes });
    });
  }

  private queueIo(job: () => Promise<void>): void {
    this.io = this.io.then(job).catch((err: unknown) => {
      log.error(0, `dvr ${this.key}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

/** The directory a dvr_path template writes under: what comes before its first placeholder. */
export function templateRoot(template: string): string {
  const i = template.indexOf("[");
  const fixed = i < 0 ? template : template.slice(0, i);
  return path.resolve(fixed.endsWith("/") || fixed === "" ? fixed || "." : path.dirname(fixed));
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, path.resolve(file));
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
