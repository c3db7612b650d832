/**
 * One live stream (vhost/app/stream): its publisher, metadata, sequence headers and GOP
 * cache, and its consumers. Messages from the publisher are corrected in time, wrapped
 * once as SharedMessages and handed to every consumer; consumers are flushed together every
 * `mw_latency` ms (merged writes), or on the next loop turn when it is 0.
 */
import { SluiceError } from "../core/errors.js";
import { randomId } from "../core/ids.js";
import { isAudioSequenceHeader, isVideoKeyframe, isVideoSequenceHeader } from "../format/flv.js";
import { decodeAmf0, encodeAmf0, Amf0EcmaArray, type Amf0Value } from "../protocol/rtmp/amf0.js";
import { MessageType } from "../protocol/rtmp/message-types.js";
import type { Consumer } from "./consumer.js";
import { GopCache } from "./gop-cache.js";
import { MessageFlags, SharedMessage } from "./shared-message.js";
import { TimeJitter, type TimeJitterMode } from "./time-jitter.js";

export interface SourcePlayConfig {
  gopCache: boolean;
  gopCacheMaxFrames: number;
  timeJitter: TimeJitterMode;
  /** Merged-write interval in ms; 0 flushes on the next loop turn. */
  mwLatency: number;
}

/** The GOP cache's byte bound (frames are bounded by config). */
const GOP_CACHE_MAX_BYTES = 64 * 1024 * 1024;

export interface PublisherRef {
  /** Connection id, for logs and the API. */
  readonly id: number;
}

export interface SourceStats {
  audioMessages: number;
  videoMessages: number;
  videoKeyframes: number;
  bytesIn: number;
  publishes: number;
}

export class Source {
  /** The API's stream id (SRS's "vid-" form), for the life of this Source. */
  readonly id = randomId("vid-", 7);
  /** The tcUrl of the first client that named the stream, for the API. */
  tcUrl = "";
  /** The first byte of the last audio frame (sound format, rate, size, channels), for the API. */
  audioFlags = -1;
  publisher: PublisherRef | null = null;
  metadata: SharedMessage | null = null;
  videoSequenceHeader: SharedMessage | null = null;
  audioSequenceHeader: SharedMessage | null = null;
  /** Whether the current publisher sent video (audio is then not a resume point). */
  hasVideo = false;
  readonly stats: SourceStats = { audioMessages: 0, videoMessages: 0, videoKeyframes: 0, bytesIn: 0, publishes: 0 };
  readonly createdAt = Date.now();

  private consumers: Consumer[] = [];
  private readonly gop: GopCache;
  private jitter: TimeJitter;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private lastTimestamp = 0;
  /** Bytes sent by consumers that have left. */
  private bytesOutClosed = 0;

  constructor(
    readonly vhost: string,
    readonly app: string,
    readonly stream: string,
    private config: SourcePlayConfig,
  ) {
    this.gop = new GopCache(config.gopCache, config.gopCacheMaxFrames, GOP_CACHE_MAX_BYTES);
    this.jitter = new TimeJitter(config.timeJitter);
  }

  get key(): string {
    return `${this.vhost}/${this.app}/${this.stream}`;
  }

  /** Consumers that send to a peer (players); HLS, DVR and the like have no bytesOut. */
  get playerCount(): number {
    let n = 0;
    for (const c of this.consumers) if (c.bytesOut !== undefined) n++;
    return n;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Bytes sent to players of this stream, those gone included. */
  get bytesOut(): number {
    let n = this.bytesOutClosed;
    for (const c of this.consumers) n += c.bytesOut ?? 0;
    return n;
  }

  /** The consumers now attached (the API counts its clients). */
  get consumerList(): readonly Consumer[] {
    return this.consumers;
  }

  get gopCacheSize(): number {
    return this.gop.size;
  }

  /** New play settings (reload): GOP cache and merged writes apply now, jitter at the next publish. */
  reconfigure(config: SourcePlayConfig): void {
    this.config = config;
    this.gop.configure(config.gopCache, config.gopCacheMaxFrames);
    this.restartFlushTimer();
  }

  /** Takes the stream for a publisher; false when another one has it (NetStream.Publish.BadName). */
  publish(publisher: PublisherRef): boolean {
    if (this.publisher) return false;
    this.publisher = publisher;
    this.stats.publishes++;
    if (this.jitter.mode !== this.config.timeJitter) this.jitter = new TimeJitter(this.config.timeJitter);
    this.jitter.resetPublisher();
    this.gop.reset();
    this.metadata = null;
    this.videoSequenceHeader = null;
    this.audioSequenceHeader = null;
    this.hasVideo = false;
    for (const c of this.consumers) c.onPublish();
    return true;
  }

  unpublish(publisher: PublisherRef): void {
    if (this.publisher !== publisher) return;
    this.publisher = null;
    this.gop.reset();
    this.metadata = null;
    this.videoSequenceHeader = null;
    this.audioSequenceHeader = null;
    this.flushNow();
    for (const c of this.consumers) c.onUnpublish();
  }

  /**
   * A message from the publisher: audio (8), video (9) or AMF0/AMF3 data (18/15).
   * `timestamp` is the publisher's unwrapped time in ms. Throws a SluiceError for
   * malformed metadata.
   */
  onMessage(type: number, timestamp: number, payload: Buffer): void {
    this.stats.bytesIn += payload.length;
    if (type === MessageType.DataAmf0 || type === MessageType.DataAmf3) {
      this.onData(type === MessageType.DataAmf3 ? payload.subarray(1) : payload);
      return;
    }
    if (type !== MessageType.Audio && type !== MessageType.Video) return;
    if (payload.length === 0) return; // nothing to decode, nothing to relay
    const ts = this.jitter.correct(timestamp);
    this.lastTimestamp = ts;
    let flags = 0;
    if (type === MessageType.Video) {
      this.stats.videoMessages++;
      this.hasVideo = true;
      if (isVideoSequenceHeader(payload)) {
        const sh = new SharedMessage(type, ts, payload, MessageFlags.SequenceHeader);
        this.videoSequenceHeader = sh;
        this.deliver(sh);
        return;
      }
      if (isVideoKeyframe(payload)) {
        flags = MessageFlags.Keyframe | MessageFlags.RandomAccess;
        this.stats.videoKeyframes++;
      }
    } else {
      this.stats.audioMessages++;
      this.audioFlags = payload[0]!;
      if (isAudioSequenceHeader(payload)) {
        const sh = new SharedMessage(type, ts, payload, MessageFlags.SequenceHeader);
        this.audioSequenceHeader = sh;
        this.deliver(sh);
        return;
      }
      if (!this.hasVideo) flags = MessageFlags.RandomAccess;
    }
    const msg = new SharedMessage(type, ts, payload, flags);
    this.gop.push(msg);
    this.deliver(msg);
  }

  private onData(payload: Buffer): void {
    let values: Amf0Value[];
    try {
      values = decodeAmf0(payload);
    } catch (err) {
      throw SluiceError.wrap(err, "metadata");
    }
    let i = 0;
    if (values[0] === "@setDataFrame") i = 1;
    if (values[i] === "onMetaData") {
      // Stored as ["onMetaData", object] as players expect it, without @setDataFrame.
      const body = values[i + 1] ?? new Amf0EcmaArray({});
      const meta = new SharedMessage(MessageType.DataAmf0, this.lastTimestamp, encodeAmf0("onMetaData", body), MessageFlags.Metadata);
      this.metadata = meta;
      this.deliver(meta);
      return;
    }
    // onTextData, onCuePoint and other data: relayed live, not cached.
    this.deliver(new SharedMessage(MessageType.DataAmf0, this.lastTimestamp, payload, 0));
  }

  private deliver(msg: SharedMessage): void {
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) consumers[i]!.enqueue(msg);
    if (this.config.mwLatency <= 0 && !this.flushScheduled && consumers.length > 0) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Flushes every consumer now. */
  readonly flushNow = (): void => {
    this.flushScheduled = false;
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) consumers[i]!.flush();
  };

  /**
   * Adds a consumer and gives it what a joiner needs, in order: metadata, sequence
   * headers, then the GOP cache, flushed in one write.
   */
  addConsumer(c: Consumer): void {
    this.consumers = [...this.consumers, c];
    if (this.metadata) c.enqueue(this.metadata);
    if (this.videoSequenceHeader) c.enqueue(this.videoSequenceHeader);
    if (this.audioSequenceHeader) c.enqueue(this.audioSequenceHeader);
    for (const m of this.gop.snapshot()) c.enqueue(m);
    c.flush();
    // The running interval is kept: restarting it on every join would starve everyone of
    // flushes while players join faster than mw_latency.
    if (this.flushTimer === undefined) this.restartFlushTimer();
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    const next = this.consumers.slice();
    next.splice(i, 1);
    this.consumers = next;
    this.bytesOutClosed += c.bytesOut ?? 0;
    if (next.length === 0) this.restartFlushTimer();
  }

  /** True when nothing uses the source any more, so the registry may drop it. */
  get idle(): boolean {
    return this.publisher === null && this.consumers.length === 0;
  }

  /** Stops timers; the source is being dropped. */
  dispose(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  private restartFlushTimer(): void {
    const want = this.consumers.length > 0 && this.config.mwLatency > 0;
    if (this.flushTimer) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (want) this.flushTimer = setInterval(this.flushNow, this.config.mwLatency);
  }
}
