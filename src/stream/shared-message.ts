/**
 * A media or data message as a Source holds it: the payload once, its timestamp after
 * correction, what kind of frame it is, and its RTMP chunks made once per (chunk size,
 * stream id) and its FLV tag on first use. Every consumer queues the same object and the same Buffers.
 */
import { encodeFlvTag } from "../format/flv.js";
import { encodeChunks } from "../native/index.js";
import { ChunkStreamId, MessageType } from "../protocol/rtmp/message-types.js";

export const MessageFlags = {
  Keyframe: 1,
  SequenceHeader: 2,
  Metadata: 4,
  /** A player that skipped ahead may resume here: a video keyframe, or audio when the stream has no video. */
  RandomAccess: 8,
} as const;

const TWO_POW_32 = 0x100000000;

export class SharedMessage {
  private chunks: Buffer | undefined;
  private chunkSize = 0;
  private streamId = 0;
  private otherChunks: Map<string, Buffer> | undefined;
  private flv: Buffer | undefined;

  constructor(
    /** RTMP message type: 8 audio, 9 video, 18 data. */
    readonly type: number,
    /** Milliseconds, monotonic per source after time_jitter, never wrapped. */
    readonly timestamp: number,
    readonly payload: Buffer,
    readonly flags: number,
  ) {}

  get isVideo(): boolean {
    return this.type === MessageType.Video;
  }
  get isAudio(): boolean {
    return this.type === MessageType.Audio;
  }
  get isKeyframe(): boolean {
    return (this.flags & MessageFlags.Keyframe) !== 0;
  }
  get isSequenceHeader(): boolean {
    return (this.flags & MessageFlags.SequenceHeader) !== 0;
  }
  /** Sequence headers and metadata: kept when a slow player's queue is dropped. */
  get isConfig(): boolean {
    return (this.flags & (MessageFlags.SequenceHeader | MessageFlags.Metadata)) !== 0;
  }
  get isRandomAccess(): boolean {
    return (this.flags & MessageFlags.RandomAccess) !== 0;
  }

  /** The message as RTMP chunks; made once per (chunkSize, streamId) and shared. */
  rtmpChunks(chunkSize: number, streamId: number): Buffer {
    if (this.chunks !== undefined && this.chunkSize === chunkSize && this.streamId === streamId) return this.chunks;
    if (this.chunks === undefined) {
      this.chunks = this.encode(chunkSize, streamId);
      this.chunkSize = chunkSize;
      this.streamId = streamId;
      return this.chunks;
    }
    const key = `${chunkSize}/${streamId}`;
    this.otherChunks ??= new Map();
    let b = this.otherChunks.get(key);
    if (b === undefined) {
      b = this.encode(chunkSize, streamId);
      this.otherChunks.set(key, b);
    }
    return b;
  }

  /** The message as an FLV tag with its PreviousTagSize (HTTP-FLV, WS-FLV, DVR); made once and shared. */
  flvTag(): Buffer {
    return (this.flv ??= encodeFlvTag(this.type, this.timestamp, this.payload));
  }

  private encode(chunkSize: number, streamId: number): Buffer {
    const csid =
      this.type === MessageType.Audio ? ChunkStreamId.Audio : this.type === MessageType.Video ? ChunkStreamId.Video : ChunkStreamId.Stream;
    // RTMP carries 32-bit timestamps; past 2^32 ms (49.7 days) they wrap on the wire.
    return encodeChunks(csid, this.type, streamId, this.timestamp % TWO_POW_32, this.payload, chunkSize);
  }
}
