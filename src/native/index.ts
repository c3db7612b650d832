/**
 * The one place that loads the C++ addon (build/Release/sluice.node, built by node-gyp at
 * `npm install`) and gives the rest of the code a typed API. Nothing else touches the
 * `.node` file. The addon throws `Error`s with a `code` (see src/core/errors.ts).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** A whole RTMP message as the chunk decoder assembles it (RTMP spec 5.3.1, 6.1). */
export interface RawMessage {
  /** Chunk stream id the message arrived on. */
  csid: number;
  /** Message type id (1..22 in the spec; relayed whatever it is). */
  type: number;
  /** Message stream id (little-endian on the wire). */
  streamId: number;
  /** Timestamp in ms, 32 bits as on the wire (the caller unwraps). */
  timestamp: number;
  payload: Buffer;
}

export interface ChunkDecoderOptions {
  /** A message whose declared length exceeds this is an error, never an allocation. */
  maxMessageSize: number;
  /** Most chunk streams a peer may have in flight at once. */
  maxChunkStreams: number;
}

export interface ChunkDecoder {
  /**
   * Feeds bytes in any pieces; returns the messages they complete, in order. Set Chunk
   * Size (type 1) and Abort (type 2) are applied inside and also returned. Throws an
   * Error with `code` ERR_RTMP_CHUNK_SIZE, ERR_RTMP_MESSAGE_TOO_LARGE, ERR_RTMP_CHUNK_STREAM
   * or ERR_RTMP_CHUNK_LIMIT; after a throw the decoder is unusable.
   */
  push(data: Buffer): RawMessage[];
  /** The peer's current chunk size. */
  readonly chunkSize: number;
}

export interface HandshakeReply {
  /** S0 + S1 + S2, 3073 bytes. */
  s0s1s2: Buffer;
  /** -1: simple handshake; 0 or 1: complex with that digest scheme. */
  scheme: number;
}

/** The addon's decoder: payloads back to back, and 5 header numbers per message. */
interface NativeChunkDecoder {
  push(data: Buffer): [payloads: Buffer, headers: Uint32Array] | undefined;
  readonly chunkSize: number;
}

/**
 * The addon's TS muxer (native/ts_muxer.cc). Each call writes its packets into `slab` from
 * byte `offset` on and returns how many it wrote, or -(bytes needed) when fewer are left:
 * then it wrote nothing and changed nothing, and the same call with room enough writes
 * exactly that many. Bad input throws (ERR_TS_INPUT) having written nothing.
 */
interface NativeTsMuxer {
  muxVideo(timestampMs: number, payload: Buffer, slab: Buffer, offset: number): number;
  muxAudio(timestampMs: number, payload: Buffer, slab: Buffer, offset: number): number;
  startSegment(slab: Buffer, offset: number): number;
  reset(): void;
}

interface Addon {
  TsMuxer: new () => NativeTsMuxer;
  ChunkDecoder: new (maxMessageSize: number, maxChunkStreams: number) => NativeChunkDecoder;
  encodeChunks(
    csid: number,
    type: number,
    streamId: number,
    timestamp: number,
    payload: Buffer,
    chunkSize: number,
  ): Buffer;
  handshakeServerReply(c0c1: Buffer): HandshakeReply;
  handshakeValidateC1(c1: Buffer): number;
  handshakeClientC0C1(complex: boolean): Buffer;
  handshakeClientC2(s0s1s2: Buffer, c0c1: Buffer): Buffer;
  handshakeValidateS1(s1: Buffer): number;
  sha256(data: Buffer): Buffer;
  hmacSha256(key: Buffer, data: Buffer): Buffer;
  writevFd(fd: number, buffers: Buffer[], count: number): number;
  raiseOpenFilesLimit(): { soft: number; hard: number };
}

const require = createRequire(import.meta.url);

/**
 * The package root: the nearest directory above this file that has a package.json. This
 * file runs from src/native (vitest), dist/native (compiled) and dist-bench/src/native (the
 * benchmarks' build), which are at different depths below the root.
 */
export function packageRoot(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`sluice: no package.json in any directory above ${start}`);
    dir = up;
  }
}

const addon = require(path.join(packageRoot(), "build", "Release", "sluice.node")) as Addon;

class ChunkDecoderImpl implements ChunkDecoder {
  constructor(private readonly native: NativeChunkDecoder) {}

  get chunkSize(): number {
    return this.native.chunkSize;
  }

  push(data: Buffer): RawMessage[] {
    const r = this.native.push(data);
    if (r === undefined) return [];
    const [payloads, h] = r;
    const n = h.length / 5;
    const out = new Array<RawMessage>(n);
    let off = 0;
    for (let i = 0, j = 0; i < n; i++, j += 5) {
      const len = h[j + 4]!;
      // A view: the messages of one read share one allocation.
      out[i] = { csid: h[j]!, type: h[j + 1]!, streamId: h[j + 2]!, timestamp: h[j + 3]!, payload: payloads.subarray(off, off + len) };
      off += len;
    }
    return out;
  }
}

export function createChunkDecoder(opts: ChunkDecoderOptions): ChunkDecoder {
  return new ChunkDecoderImpl(new addon.ChunkDecoder(opts.maxMessageSize, opts.maxChunkStreams));
}

/**
 * One message as its chunks for `chunkSize`: a type-0 header with the absolute timestamp
 * then type-3 continuation headers (extended timestamp repeated on each, RTMP spec
 * 5.3.1.3). The bytes depend only on the arguments, so one Buffer serves every player.
 */
export function encodeChunks(
  csid: number,
  type: number,
  streamId: number,
  timestamp: number,
  payload: Buffer,
  chunkSize: number,
): Buffer {
  return addon.encodeChunks(csid, type, streamId, timestamp >>> 0, payload, chunkSize);
}

/** Answers a client's C0+C1 (1537 bytes) with S0+S1+S2; complex when C1 has a valid digest. */
export function handshakeServerReply(c0c1: Buffer): HandshakeReply {
  return addon.handshakeServerReply(c0c1);
}

/** The digest scheme (0 or 1) C1 validates with, or -1 when it has no valid digest. */
export function handshakeValidateC1(c1: Buffer): number {
  return addon.handshakeValidateC1(c1);
}

/** A client's C0+C1: complex (scheme 1, Flash Player key) or simple (zeros). */
export function handshakeClientC0C1(complex: boolean): Buffer {
  return addon.handshakeClientC0C1(complex);
}

/** The client's C2 for the server's S0+S1+S2, given the C0+C1 it sent. */
export function handshakeClientC2(s0s1s2: Buffer, c0c1: Buffer): Buffer {
  return addon.handshakeClientC2(s0s1s2, c0c1);
}

/** The digest scheme (0 or 1) S1 validates with (FMS key), or -1 when it has no valid digest. */
export function handshakeValidateS1(s1: Buffer): number {
  return addon.handshakeValidateS1(s1);
}

/** SHA-256 (FIPS 180-4) of `data`, 32 bytes: the addon's own, used by the handshake. */
export function sha256(data: Buffer): Buffer {
  return addon.sha256(data);
}

/** HMAC-SHA256 (RFC 2104) of `data` with `key`, 32 bytes: the addon's own. */
export function hmacSha256(key: Buffer, data: Buffer): Buffer {
  return addon.hmacSha256(key, data);
}

/**
 * One writev(2) of `count` Buffers from `buffers` to socket file descriptor `fd`. Returns
 * the bytes written (fewer than all when the send buffer filled: the caller hands the rest
 * to Node), or -errno on a socket error. Call only while Node holds nothing unsent for
 * that socket, so bytes stay in order.
 */
export function writevFd(fd: number, buffers: Buffer[], count: number): number {
  return addon.writevFd(fd, buffers, count);
}

function checkTimestamp(timestampMs: number, what: string): void {
  if (!Number.isSafeInteger(timestampMs)) {
    throw new TypeError(`TsMuxer.${what}: timestampMs must be an integer number of milliseconds, got ${timestampMs}`);
  }
}

/** Bytes of one TsMuxer slab: the packets of many frames, handed out as views. */
const TS_SLAB_SIZE = 1 << 20;
/** What a call that writes no packets returns (zero bytes: nothing in it to share or change). */
const NO_PACKETS = Buffer.alloc(0);

/**
 * MPEG-TS muxer for one stream (ISO/IEC 13818-1): FLV audio/video tag bodies as RTMP carries
 * them, one call per frame, to 188-byte TS packets. Video: AVC (codec id 7), HEVC (legacy
 * codec id 12 and enhanced-RTMP "hvc1"/"avc1"), NALUs to Annex B with an AUD first and the
 * sequence header's parameter sets before every IDR/IRAP picture. Audio: AAC (ADTS from the
 * AudioSpecificConfig) and MP3 (as is, stream type 0x03 or 0x04). PIDs: PMT 0x1001, video
 * 0x100, audio 0x101; PCR on the video PID, or the audio PID when there is no video. PTS/DTS
 * are the timestamp (and composition time) at 90 kHz, modulo 2^33.
 *
 * Sequence headers return an empty Buffer. A frame of a stream the last PMT did not list
 * writes a new PAT/PMT first. Malformed input throws an Error with `code` ERR_TS_INPUT and
 * leaves the muxer usable.
 *
 * The Buffers returned are views of a slab (1 MiB, taken when the last one is full) that
 * the native muxer writes the packets into, as Node pools small Buffers: no allocation per
 * frame but the view. A region once handed out is never written again, so a view stays
 * valid (and keeps its slab alive) as long as it is held; a frame larger than a slab gets
 * a Buffer of its own. A failed call hands out nothing.
 */
export class TsMuxer {
  private readonly native: NativeTsMuxer = new addon.TsMuxer();
  /** Where the next packets go: `slab` from `offset` on. Empty until the first packets. */
  private slab: Buffer = NO_PACKETS;
  private offset = 0;

  /** The packets of one video frame (empty for sequence headers and command frames). */
  muxVideo(timestampMs: number, payload: Buffer): Buffer {
    checkTimestamp(timestampMs, "muxVideo");
    const n = this.native.muxVideo(timestampMs, payload, this.slab, this.offset);
    if (n >= 0) return this.take(n);
    const own = this.room(-n);
    if (own === undefined) return this.take(this.retried(this.native.muxVideo(timestampMs, payload, this.slab, 0), -n));
    this.retried(this.native.muxVideo(timestampMs, payload, own, 0), -n);
    return own;
  }

  /** The packets of one audio frame (empty for the AAC sequence header). */
  muxAudio(timestampMs: number, payload: Buffer): Buffer {
    checkTimestamp(timestampMs, "muxAudio");
    const n = this.native.muxAudio(timestampMs, payload, this.slab, this.offset);
    if (n >= 0) return this.take(n);
    const own = this.room(-n);
    if (own === undefined) return this.take(this.retried(this.native.muxAudio(timestampMs, payload, this.slab, 0), -n));
    this.retried(this.native.muxAudio(timestampMs, payload, own, 0), -n);
    return own;
  }

  /** PAT + PMT (two packets) listing the streams seen so far: write it first in a segment. */
  startSegment(): Buffer {
    const n = this.native.startSegment(this.slab, this.offset);
    if (n >= 0) return this.take(n);
    this.room(-n); // 376 bytes: always a new slab
    return this.take(this.retried(this.native.startSegment(this.slab, 0), -n));
  }

  /** Forgets codecs, sequence headers and continuity counters (a new publish). */
  reset(): void {
    this.native.reset();
  }

  /** The `n` bytes just written at `offset`, handed out. */
  private take(n: number): Buffer {
    if (n === 0) return NO_PACKETS;
    const start = this.offset;
    this.offset = start + n;
    return this.slab.subarray(start, this.offset);
  }

  /**
   * Room for `needed` bytes: a fresh slab (returns undefined; the old one lives on in the
   * views already handed out), or for more than a slab holds, a Buffer of that exact size.
   */
  private room(needed: number): Buffer | undefined {
    if (needed > TS_SLAB_SIZE) return Buffer.allocUnsafeSlow(needed);
    this.slab = Buffer.allocUnsafeSlow(TS_SLAB_SIZE);
    this.offset = 0;
    return undefined;
  }

  /** The second call, given the room the first asked for, must write just that much. */
  private retried(n: number, needed: number): number {
    if (n !== needed) throw new Error(`TsMuxer: asked for ${needed} bytes of room, then wrote ${n}`);
    return n;
  }
}

/** Lifts the soft open-files limit to the hard one (every player is a descriptor). */
export function raiseOpenFilesLimit(): { soft: number; hard: number } {
  return addon.raiseOpenFilesLimit();
}
