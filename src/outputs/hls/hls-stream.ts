/**
 * HLS for one stream (vhost/app/stream): a Source consumer that muxes every frame to
 * MPEG-TS with the native TsMuxer, cuts segments at keyframes, and keeps a live playlist of
 * the last `hls_window` seconds, on disk (written to a temporary name and renamed, so no
 * reader ever sees half a segment or playlist), in memory, or both.
 *
 * Cutting, as SRS's HLS controller: a stream with video is cut at the first keyframe once
 * `hls_fragment` seconds have passed (at any frame with hls_wait_keyframe off), and at any
 * frame once hls_fragment x hls_td_ratio have passed (a long GOP must not make a segment
 * longer than the playlist's target duration); an audio-only stream is cut once
 * hls_fragment x hls_aof_ratio have passed. A publisher that returns, or a new sequence
 * header with other codec parameters, starts a new segment marked EXT-X-DISCONTINUITY.
 *
 * The object outlives one publish: segment numbers and the window continue when the
 * publisher comes back. Disk writes run in order on one promise chain per stream, off the
 * media path: the frame path only appends the muxer's Buffers to the open segment.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { HlsConfig } from "../../conf/config.js";
import { SluiceError } from "../../core/errors.js";
import { log } from "../../core/logger.js";
import { fillTemplate, renderPlaylist, segmentUri, targetDurationOf, type PlaylistSegment } from "../../format/hls-playlist.js";
import { TsMuxer } from "../../native/index.js";
import { MessageType } from "../../protocol/rtmp/message-types.js";
import type { Consumer } from "../../stream/consumer.js";
import type { SharedMessage } from "../../stream/shared-message.js";
import type { HlsStore } from "./hls-store.js";

export interface HlsStreamIdentity {
  vhost: string;
  app: string;
  stream: string;
}

interface OpenSegment {
  seq: number;
  /** Media time of the first frame, ms. */
  start: number;
  /** Media time of the last frame, and the gap before it (to estimate the last frame's length). */
  last: number;
  lastDelta: number;
  time: Date;
  parts: Buffer[];
  bytes: number;
  discontinuity: boolean;
}

interface Segment extends PlaylistSegment {
  seq: number;
  /** Path under hls_path ("live/livestream-3.ts"), and its URL path ("/live/livestream-3.ts"). */
  relPath: string;
  urlPath: string;
  bytes: number;
}

/** A segment that was just written and listed (for on_hls). */
export interface HlsSegmentWritten {
  seq: number;
  /** Seconds. */
  duration: number;
  /** hls_path joined with the segment's and the playlist's paths, as configured (relative paths stay relative). */
  file: string;
  m3u8: string;
  /** The same paths relative to hls_path (their URLs without the leading "/"). */
  url: string;
  m3u8Url: string;
}

export interface HlsStreamStats {
  segments: number;
  bytes: number;
  muxErrors: number;
  /** Frames not written: before the first keyframe, or dropped by hls_acodec an / hls_vcodec vn. */
  skippedFrames: number;
}

export class HlsStream implements Consumer {
  readonly stats: HlsStreamStats = { segments: 0, bytes: 0, muxErrors: 0, skippedFrames: 0 };
  /** True after hls_on_error ignore gave up on this publish, or after dispose. */
  stopped = false;
  /** Told of each segment once it is written and listed (on_hls); set for each publish. */
  onSegment: ((seg: HlsSegmentWritten) => void) | null = null;

  private config: HlsConfig;
  private readonly muxer = new TsMuxer();
  private readonly root: string;
  private m3u8Rel = "";
  private m3u8Url = "";
  private current: OpenSegment | null = null;
  private readonly window: Segment[] = [];
  /**
   * Segments that left the window, kept while the playlist lasts (RFC 8216 6.2.2: a player
   * may still be reading an older playlist), in media time: `at` is `mediaClock` then.
   */
  private readonly retired: { seg: Segment; at: number }[] = [];
  /** Seconds of segments made so far, across publishes: the clock of the retirements. */
  private mediaClock = 0;
  private nextSeq = 0;
  private discontinuitySequence = 0;
  /** The next segment starts after a discontinuity (republish, codec change). */
  private discontinuityPending = false;
  /** Cut at the next random-access point whatever its duration (codec change). */
  private forceCut = false;
  private sawVideo = false;
  private videoHeader: Buffer | null = null;
  private audioHeader: Buffer | null = null;
  private io: Promise<void> = Promise.resolve();
  private readonly createdDirs = new Set<string>();

  constructor(
    readonly id: HlsStreamIdentity,
    config: HlsConfig,
    private readonly store: HlsStore,
    /** hls_on_error disconnect: closes the publisher. */
    private readonly disconnect: (reason: string) => void = () => {},
  ) {
    this.config = config;
    this.root = path.resolve(config.path);
    this.placePlaylist(new Date());
  }

  get key(): string {
    return `${this.id.vhost}/${this.id.app}/${this.id.stream}`;
  }

  /** The playlist's URL path, e.g. "/live/livestream.m3u8". */
  get playlistUrl(): string {
    return this.m3u8Url;
  }

  /** Segments now in the playlist. */
  get segmentCount(): number {
    return this.window.length;
  }

  /** Resolves when every disk write queued so far is done (tests, shutdown). */
  settled(): Promise<void> {
    return this.io;
  }

  /**
   * A new publish: the config in force now applies (reload takes effect per publish), the
   * muxer forgets the old codecs, and the next segment follows a discontinuity when there
   * were segments before.
   */
  begin(config: HlsConfig): void {
    if (config.path !== this.config.path || config.m3u8File !== this.config.m3u8File) {
      // A new place for the playlist: the old window stays where it was (and is disposed with it).
      log.trace(0, `hls ${this.key}: hls_path or hls_m3u8_file changed; the new playlist starts afresh`);
    }
    this.config = config;
    this.stopped = false;
    this.muxer.reset();
    this.current = null;
    this.sawVideo = false;
    this.videoHeader = null;
    this.audioHeader = null;
    this.forceCut = false;
    if (this.window.length > 0 || this.nextSeq > 0) this.discontinuityPending = true;
  }

  enqueue(msg: SharedMessage): void {
    if (this.stopped) return;
    const type = msg.type;
    if (type !== MessageType.Audio && type !== MessageType.Video) return;
    const isVideo = type === MessageType.Video;
    const cfg = this.config;
    if (isVideo ? cfg.vcodec === "vn" : cfg.acodec === "an") {
      this.stats.skippedFrames++;
      return;
    }
    if (msg.isSequenceHeader) {
      this.onSequenceHeader(isVideo, msg);
      return;
    }
    if (isVideo) this.sawVideo = true;
    const t = msg.timestamp;
    let seg = this.current;
    // A segment starts where a player can: a video keyframe, or any audio frame of a stream without video.
    const randomAccess = isVideo ? msg.isKeyframe : !this.sawVideo;
    if (seg === null) {
      if (!randomAccess) {
        this.stats.skippedFrames++;
        return;
      }
      seg = this.open(t);
    } else if (this.shouldCut(seg, t, isVideo, msg.isKeyframe, randomAccess)) {
      this.close(seg, t);
      seg = this.open(t);
    }
    let packets: Buffer;
    try {
      packets = isVideo ? this.muxer.muxVideo(t, msg.payload) : this.muxer.muxAudio(t, msg.payload);
    } catch (err) {
      this.onMuxError(err);
      return;
    }
    if (packets.length > 0) {
      seg.parts.push(packets);
      seg.bytes += packets.length;
    }
    if (t > seg.last) {
      seg.lastDelta = t - seg.last;
      seg.last = t;
    }
  }

  /** Nothing is queued: frames are muxed as they come. */
  flush(): void {}

  /** Called by the Source for consumers already attached; the service calls begin() instead. */
  onPublish(): void {}

  /** The publisher left: the open segment is closed and listed; the playlist stays live. */
  onUnpublish(): void {
    const seg = this.current;
    if (seg !== null) this.close(seg, seg.last + Math.max(seg.lastDelta, 1));
    this.current = null;
  }

  /** Deletes every file and memory entry of the stream (hls_dispose), and stops. */
  dispose(): Promise<void> {
    this.stopped = true;
    this.current = null;
    const all = [...this.window, ...this.retired.map((r) => r.seg)];
    this.window.length = 0;
    this.retired.length = 0;
    for (const seg of all) this.removeSegment(seg, true);
    const m3u8Url = this.m3u8Url;
    const m3u8File = path.join(this.root, this.m3u8Rel);
    this.store.delete(m3u8Url);
    if (this.config.storage !== "memory") {
      this.queueIo(async () => {
        this.store.delete(m3u8Url);
        await fsp.rm(m3u8File, { force: true });
      });
    }
    return this.io;
  }

  private onSequenceHeader(isVideo: boolean, msg: SharedMessage): void {
    const previous = isVideo ? this.videoHeader : this.audioHeader;
    if (previous !== null && !previous.equals(msg.payload) && this.current !== null) {
      // New codec parameters mid-publish: a player must reset its decoder at a discontinuity.
      this.forceCut = true;
      this.discontinuityPending = true;
    }
    if (isVideo) this.videoHeader = msg.payload;
    else this.audioHeader = msg.payload;
    try {
      if (isVideo) this.muxer.muxVideo(msg.timestamp, msg.payload);
      else this.muxer.muxAudio(msg.timestamp, msg.payload);
    } catch (err) {
      this.onMuxError(err);
    }
  }

  private shouldCut(seg: OpenSegment, t: number, isVideo: boolean, keyframe: boolean, randomAccess: boolean): boolean {
    const cfg = this.config;
    const elapsed = t - seg.start;
    if (this.forceCut) return randomAccess;
    if (elapsed <= 0) return false;
    const fragmentMs = cfg.fragment * 1000;
    if (!this.sawVideo) return elapsed >= fragmentMs * cfg.aofRatio;
    if (elapsed >= fragmentMs && (keyframe || (!cfg.waitKeyframe && isVideo))) return true;
    return elapsed >= fragmentMs * cfg.tdRatio;
  }

  private open(t: number): OpenSegment {
    const time = new Date();
    this.forceCut = false;
    const start = this.muxer.startSegment();
    const seg: OpenSegment = {
      seq: this.nextSeq++,
      start: t,
      last: t,
      lastDelta: 0,
      time,
      parts: start.length > 0 ? [start] : [],
      bytes: start.length,
      discontinuity: this.discontinuityPending,
    };
    this.discontinuityPending = false;
    this.current = seg;
    return seg;
  }

  /** Ends `seg` at media time `end`, stores it, slides the window and rewrites the playlist. */
  private close(open: OpenSegment, end: number): void {
    this.current = null;
    const cfg = this.config;
    const durationMs = Math.max(end - open.start, 1);
    const values = { ...this.id, seq: open.seq, durationMs, time: open.time };
    const relPath = fillTemplate(cfg.tsFile, values);
    const file = path.resolve(this.root, relPath);
    if (!isInside(this.root, file)) {
      this.onMuxError(new SluiceError("ERR_HLS_PATH", `segment path ${JSON.stringify(relPath)} is outside hls_path ${this.root}`));
      return;
    }
    const seg: Segment = {
      seq: open.seq,
      relPath,
      urlPath: toUrlPath(relPath),
      uri: segmentUri(this.m3u8Rel, relPath, cfg.entryPrefix),
      duration: durationMs / 1000,
      discontinuity: open.discontinuity,
      programDateTime: open.time,
      bytes: open.bytes,
    };
    this.stats.segments++;
    this.stats.bytes += open.bytes;
    const parts = open.parts;
    open.parts = [];

    this.window.push(seg);
    this.mediaClock += seg.duration;
    const now = this.mediaClock;
    let total = 0;
    for (const s of this.window) total += s.duration;
    while (this.window.length > 1 && total - this.window[0]!.duration >= cfg.window) {
      const old = this.window.shift()!;
      total -= old.duration;
      if (old.discontinuity) this.discontinuitySequence++;
      this.retired.push({ seg: old, at: now });
    }
    // Segments out of the window stay fetchable for the playlist's duration, then go.
    while (this.retired.length > 0 && now - this.retired[0]!.at >= total) {
      this.removeSegment(this.retired.shift()!.seg);
    }

    const playlist = Buffer.from(
      renderPlaylist({
        mediaSequence: this.window[0]!.seq,
        discontinuitySequence: this.discontinuitySequence,
        targetDuration: targetDurationOf(this.window, cfg.fragment * cfg.tdRatio),
        segments: this.window,
      }),
    );
    const memory = cfg.storage !== "disk";
    const disk = cfg.storage !== "memory";
    const notify = this.onSegment;
    const written: HlsSegmentWritten | null = notify && {
      seq: seg.seq,
      duration: seg.duration,
      file: path.join(cfg.path, relPath),
      m3u8: path.join(cfg.path, this.m3u8Rel),
      url: relPath,
      m3u8Url: this.m3u8Rel,
    };
    if (memory) {
      // A copy: the muxer's views would otherwise keep its 1 MiB slabs alive for the window.
      this.store.putData(seg.urlPath, Buffer.concat(parts, open.bytes));
      this.store.putData(this.m3u8Url, playlist);
      if (!disk && notify && written) notify(written);
    }
    if (disk) {
      const root = this.root;
      const m3u8File = path.join(root, this.m3u8Rel);
      this.queueIo(async () => {
        await this.writeAtomically(file, parts);
        if (!memory) this.store.putFile(seg.urlPath, root);
        await this.writeAtomically(m3u8File, [playlist]);
        if (!memory) this.store.putFile(this.m3u8Url, root);
        if (notify && written) notify(written);
      });
    }
  }

  /**
   * Forgets a segment: from memory now; from disk (and the HTTP index) in order on the
   * chain, after its own write. Without hls_cleanup its file stays on disk, still served.
   */
  private removeSegment(seg: Segment, dispose = false): void {
    const cfg = this.config;
    if (cfg.storage === "memory") {
      this.store.delete(seg.urlPath);
      return;
    }
    if (cfg.storage === "both") this.store.delete(seg.urlPath);
    if (!cfg.cleanup && !dispose) return;
    const file = path.join(this.root, seg.relPath);
    this.queueIo(async () => {
      this.store.delete(seg.urlPath);
      await fsp.rm(file, { force: true });
    });
  }

  private placePlaylist(time: Date): void {
    this.m3u8Rel = fillTemplate(this.config.m3u8File, { ...this.id, time });
    const file = path.resolve(this.root, this.m3u8Rel);
    if (!isInside(this.root, file)) {
      this.stopped = true;
      log.error(0, `hls ${this.key}: playlist path ${JSON.stringify(this.m3u8Rel)} is outside hls_path ${this.root}; HLS is off for this stream`);
      return;
    }
    this.m3u8Url = toUrlPath(this.m3u8Rel);
  }

  private async writeAtomically(file: string, parts: Buffer[]): Promise<void> {
    const dir = path.dirname(file);
    if (!this.createdDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.createdDirs.add(dir);
    }
    const tmp = `${file}.tmp`;
    const fh = await fsp.open(tmp, "w");
    try {
      await fh.writev(parts);
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  }

  private queueIo(job: () => Promise<void>): void {
    this.io = this.io.then(job).catch((err: unknown) => {
      log.error(0, `hls ${this.key}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Lists the open segment as it is and takes no more frames until the next publish. */
  private stop(): void {
    this.onUnpublish();
    this.stopped = true;
  }

  private onMuxError(err: unknown): void {
    this.stats.muxErrors++;
    const reason = err instanceof Error ? err.message : String(err);
    switch (this.config.onError) {
      case "continue":
        // Once per segment at most, so a stream of bad frames does not flood the log.
        if (this.stats.muxErrors === 1 || this.current === null || this.current.parts.length <= 1) {
          log.warn(0, `hls ${this.key}: frame dropped (hls_on_error continue): ${reason}`);
        }
        return;
      case "ignore":
        log.warn(0, `hls ${this.key}: HLS stopped for this publish (hls_on_error ignore): ${reason}`);
        this.stop();
        return;
      case "disconnect":
        log.warn(0, `hls ${this.key}: closing the publisher (hls_on_error disconnect): ${reason}`);
        this.stop();
        this.disconnect(reason);
        return;
    }
  }
}

function toUrlPath(relPath: string): string {
  return `/${relPath.split(path.sep).join("/")}`;
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
