/**
 * A synthetic publisher: the messages an encoder sends for a few seconds of a 2.5 Mbps
 * H.264 + AAC stream, and their bytes on the wire as RTMP chunks (made with our encoder).
 * Sizes follow a live x264 + AAC encode: 25 fps with a keyframe every 2 s, P-frames of
 * about 10 KB around it, 128 kbps AAC at 44.1 kHz (a frame every 1024 samples).
 * A fixed PRNG seed makes the stream the same on every run.
 */
import { encodeChunks } from "../../src/native/index.js";
import { Amf0EcmaArray, createAmf0Object, encodeAmf0 } from "../../src/protocol/rtmp/amf0.js";

export interface SynthMessage {
  csid: number;
  type: number;
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

export interface PublisherStreamOptions {
  seconds: number;
  /** Total bits per second, audio included. */
  bitrate: number;
  fps: number;
  gopSeconds: number;
  /** Keyframe size over the mean P-frame size. */
  keyframeRatio: number;
  audioBitrate: number;
}

export const DEFAULT_STREAM: PublisherStreamOptions = {
  seconds: 2,
  bitrate: 2_500_000,
  fps: 25,
  gopSeconds: 2,
  keyframeRatio: 8,
  audioBitrate: 128_000,
};

// ffmpeg (libavformat/rtmpproto.c) sends control messages on csid 2, and the publish
// stream's audio, video and data on RTMP_SOURCE_CHANNEL (6) of message stream 1.
const CSID_CONTROL = 2;
const CSID_SOURCE = 6;
const STREAM_ID = 1;
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_AUDIO = 8;
const TYPE_VIDEO = 9;
const TYPE_DATA = 18;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filled(size: number, head: number[], rnd: () => number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (rnd() * 256) | 0;
  for (let i = 0; i < head.length && i < size; i++) b[i] = head[i] ?? 0;
  return b;
}

/**
 * The messages in send order: Set Chunk Size, @setDataFrame, the two sequence headers, then
 * video and audio frames interleaved by timestamp. Starting with Set Chunk Size and ending on
 * a message boundary, the stream can be fed to one decoder again and again.
 */
export function publisherMessages(chunkSize: number, o: PublisherStreamOptions = DEFAULT_STREAM): SynthMessage[] {
  const rnd = mulberry32(0x51c3);
  const setChunkSize = Buffer.alloc(4);
  setChunkSize.writeUInt32BE(chunkSize);
  const out: SynthMessage[] = [
    { csid: CSID_CONTROL, type: TYPE_SET_CHUNK_SIZE, streamId: 0, timestamp: 0, payload: setChunkSize },
    {
      csid: CSID_SOURCE,
      type: TYPE_DATA,
      streamId: STREAM_ID,
      timestamp: 0,
      payload: encodeAmf0("@setDataFrame", "onMetaData", new Amf0EcmaArray(Object.assign(createAmf0Object(), {
        duration: 0,
        width: 1280,
        height: 720,
        videodatarate: (o.bitrate - o.audioBitrate) / 1000,
        framerate: o.fps,
        videocodecid: 7,
        audiodatarate: o.audioBitrate / 1000,
        audiosamplerate: 44100,
        audiosamplesize: 16,
        stereo: true,
        audiocodecid: 10,
        encoder: "Lavf59.27.100",
        filesize: 0,
      }))),
    },
    // AVC sequence header: FLV VideoTagHeader (keyframe, AVC, packet type 0) + a record.
    { csid: CSID_SOURCE, type: TYPE_VIDEO, streamId: STREAM_ID, timestamp: 0, payload: filled(45, [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f], rnd) },
    // AAC sequence header: AAC 44.1 kHz stereo, packet type 0, AudioSpecificConfig 0x1210.
    { csid: CSID_SOURCE, type: TYPE_AUDIO, streamId: STREAM_ID, timestamp: 0, payload: Buffer.from([0xaf, 0x00, 0x12, 0x10]) },
  ];

  const frames = Math.round(o.seconds * o.fps);
  const gopFrames = Math.round(o.gopSeconds * o.fps);
  const videoBytesPerGop = ((o.bitrate - o.audioBitrate) / 8) * o.gopSeconds;
  const pMean = videoBytesPerGop / (gopFrames - 1 + o.keyframeRatio);
  const audioFrameMs = (1024 / 44100) * 1000;
  const audioBytes = Math.round(o.audioBitrate / 8 / (44100 / 1024));

  let v = 0;
  let a = 0;
  const endMs = o.seconds * 1000;
  for (;;) {
    const vt = (v * 1000) / o.fps;
    const at = a * audioFrameMs;
    if (v >= frames && at >= endMs) break;
    if (v < frames && vt <= at) {
      const key = v % gopFrames === 0;
      const size = Math.round(key ? pMean * o.keyframeRatio : pMean * (0.7 + 0.6 * rnd()));
      out.push({
        csid: CSID_SOURCE,
        type: TYPE_VIDEO,
        streamId: STREAM_ID,
        timestamp: Math.round(vt),
        payload: filled(size, [key ? 0x17 : 0x27, 1, 0, 0, 0], rnd),
      });
      v++;
    } else {
      out.push({
        csid: CSID_SOURCE,
        type: TYPE_AUDIO,
        streamId: STREAM_ID,
        timestamp: Math.round(at),
        payload: filled(audioBytes + 2, [0xaf, 0x01], rnd),
      });
      a++;
    }
  }
  return out;
}

/**
 * The stream's bytes: each message as our encoder chunks it (type-0 header, then type-3),
 * the Set Chunk Size itself at the default 128, everything after it at `chunkSize`.
 */
export function publisherBytes(messages: readonly SynthMessage[], chunkSize: number): Buffer {
  const parts: Buffer[] = [];
  let size = 128;
  for (const m of messages) {
    parts.push(encodeChunks(m.csid, m.type, m.streamId, m.timestamp, m.payload, size));
    if (m.type === TYPE_SET_CHUNK_SIZE) size = m.payload.readUInt32BE(0);
  }
  check(size === chunkSize);
  return Buffer.concat(parts);
}

/** `buf` cut into views of `size` bytes (the last may be shorter), as socket reads. */
export function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) out.push(buf.subarray(at, Math.min(at + size, buf.length)));
  return out;
}

function check(cond: boolean): void {
  if (!cond) throw new Error("publisherBytes: the stream does not set the chunk size it was asked for");
}
