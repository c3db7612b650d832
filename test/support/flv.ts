/**
 * A small FLV reader for tests: enough to count frames and check timestamps of what a
 * server sent (files from rtmpdump/ffmpeg, or HTTP-FLV bodies). Not the server's parser:
 * tests must not share code with the thing they check.
 */
import { readFile } from 'node:fs/promises';

export interface FlvHeader {
  version: number;
  hasAudio: boolean;
  hasVideo: boolean;
  /** Header length field (9 for FLV 1). */
  dataOffset: number;
}

export interface FlvTag {
  type: 'audio' | 'video' | 'script' | 'other';
  /** Raw tag type: 8 audio, 9 video, 18 script. */
  typeId: number;
  /** Milliseconds (24-bit timestamp plus the extended byte, so 32 bits). */
  timestamp: number;
  /** Payload size in bytes (the DataSize field). */
  size: number;
  /** Offset of the tag header in the file. */
  offset: number;
  /** True for AVC/HEVC/AAC sequence headers (decoder configuration). */
  isSequenceHeader: boolean;
  // video
  /** 1 key, 2 inter, 3 disposable inter, 4 generated key, 5 info/command. */
  frameType?: number;
  keyframe?: boolean;
  /** 7 AVC, 12 HEVC (legacy), or the enhanced-RTMP FourCC such as "hvc1". */
  codecId?: number | string;
  /** AVC/HEVC: 0 sequence header, 1 NALUs, 2 end of sequence. Enhanced RTMP: its PacketType. */
  avcPacketType?: number;
  /** AVC/HEVC composition time offset (pts - dts) in ms. */
  compositionTime?: number;
  // audio
  /** 10 AAC, 2 MP3, ... */
  soundFormat?: number;
  /** AAC: 0 sequence header, 1 raw. */
  aacPacketType?: number;
  // script
  /** First AMF0 string of a script tag, e.g. "onMetaData" or "@setDataFrame". */
  scriptName?: string;
}

export interface FlvFile {
  header: FlvHeader;
  tags: FlvTag[];
  /** True when the data ends inside a tag (e.g. a recording cut short); that tag is dropped. */
  truncated: boolean;
}

const SI24 = (b: Buffer, o: number): number => {
  const v = b.readUIntBE(o, 3);
  return v & 0x800000 ? v - 0x1000000 : v;
};

/** Parses FLV bytes. Throws if the data does not start with an FLV header. */
export function parseFlv(buf: Buffer): FlvFile {
  if (buf.length < 9 || buf.toString('latin1', 0, 3) !== 'FLV') {
    throw new Error(`not an FLV stream (${buf.length} bytes, starts ${buf.subarray(0, 3).toString('hex')})`);
  }
  const flags = buf.readUInt8(4);
  const header: FlvHeader = {
    version: buf.readUInt8(3),
    hasAudio: (flags & 0x04) !== 0,
    hasVideo: (flags & 0x01) !== 0,
    dataOffset: buf.readUInt32BE(5),
  };
  const tags: FlvTag[] = [];
  let pos = header.dataOffset + 4; // skip PreviousTagSize0
  let truncated = false;
  while (pos < buf.length) {
    if (pos + 11 > buf.length) {
      truncated = true;
      break;
    }
    const typeId = buf.readUInt8(pos) & 0x1f;
    const size = buf.readUIntBE(pos + 1, 3);
    const timestamp = (buf.readUInt8(pos + 7) * 0x1000000 + buf.readUIntBE(pos + 4, 3)) >>> 0;
    const dataStart = pos + 11;
    if (dataStart + size > buf.length) {
      truncated = true;
      break;
    }
    const data = buf.subarray(dataStart, dataStart + size);
    const type = typeId === 8 ? 'audio' : typeId === 9 ? 'video' : typeId === 18 ? 'script' : 'other';
    const tag: FlvTag = { type, typeId, timestamp, size, offset: pos, isSequenceHeader: false };
    if (type === 'video' && size >= 1) parseVideo(tag, data);
    else if (type === 'audio' && size >= 1) parseAudio(tag, data);
    else if (type === 'script' && size >= 3 && data[0] === 0x02) {
      const len = data.readUInt16BE(1);
      if (3 + len <= size) tag.scriptName = data.toString('utf8', 3, 3 + len);
    }
    tags.push(tag);
    pos = dataStart + size + 4; // PreviousTagSize
  }
  if (pos > buf.length) truncated = true;
  return { header, tags, truncated };
}

function parseVideo(tag: FlvTag, d: Buffer): void {
  const b0 = d.readUInt8(0);
  if (b0 & 0x80) {
    // Enhanced RTMP: [1 bit IsExHeader][3 bits FrameType][4 bits PacketType][FourCC]...
    tag.frameType = (b0 >> 4) & 0x07;
    tag.avcPacketType = b0 & 0x0f;
    if (d.length >= 5) tag.codecId = d.toString('latin1', 1, 5);
    tag.isSequenceHeader = tag.avcPacketType === 0;
    // PacketType 1 (CodedFrames) carries an SI24 composition time for avc1/hvc1.
    if (tag.avcPacketType === 1 && (tag.codecId === 'avc1' || tag.codecId === 'hvc1') && d.length >= 8) {
      tag.compositionTime = SI24(d, 5);
    } else if (tag.avcPacketType === 3) {
      tag.compositionTime = 0;
    }
  } else {
    tag.frameType = b0 >> 4;
    tag.codecId = b0 & 0x0f;
    if ((tag.codecId === 7 || tag.codecId === 12) && d.length >= 5) {
      tag.avcPacketType = d.readUInt8(1);
      tag.compositionTime = SI24(d, 2);
      tag.isSequenceHeader = tag.avcPacketType === 0;
    }
  }
  tag.keyframe = tag.frameType === 1 || tag.frameType === 4;
}

function parseAudio(tag: FlvTag, d: Buffer): void {
  tag.soundFormat = d.readUInt8(0) >> 4;
  if (tag.soundFormat === 10 && d.length >= 2) {
    tag.aacPacketType = d.readUInt8(1);
    tag.isSequenceHeader = tag.aacPacketType === 0;
  }
}

export async function readFlvFile(path: string): Promise<FlvFile> {
  return parseFlv(await readFile(path));
}

/** True for a video tag holding a picture (not a sequence header, end of sequence or command). */
export function isVideoFrame(t: FlvTag): boolean {
  if (t.type !== 'video' || t.isSequenceHeader || t.frameType === 5) return false;
  if (typeof t.codecId === 'number' && (t.codecId === 7 || t.codecId === 12)) return t.avcPacketType === 1;
  if (typeof t.codecId === 'string') return t.avcPacketType === 1 || t.avcPacketType === 3;
  return true;
}

/** True for an audio tag holding samples (not an AAC sequence header). */
export function isAudioFrame(t: FlvTag): boolean {
  return t.type === 'audio' && !t.isSequenceHeader;
}

export interface TrackTimestamps {
  frames: number;
  firstMs: number | undefined;
  lastMs: number | undefined;
  /** Largest step between consecutive frames' timestamps (0 with fewer than 2 frames). */
  maxGapMs: number;
  /** Steps where the timestamp went down. */
  backwardSteps: number;
}

export interface TimestampReport {
  videoFrames: number;
  audioFrames: number;
  /** Largest step between consecutive frames of the same track, over both tracks. */
  maxGapMs: number;
  /** Each track's timestamps never decrease. */
  monotonic: boolean;
  /** The first video picture is a keyframe (what a player needs to start). */
  firstVideoIsKeyframe: boolean;
  /** The first video tag is a keyframe sequence header (AVC/HEVC config). */
  firstVideoTagIsSequenceHeader: boolean;
  video: TrackTimestamps;
  audio: TrackTimestamps;
  /**
   * Audio and video frames' timestamps never decrease in file order (across tracks).
   * Sequence headers, end-of-sequence tags (ffmpeg writes one at the end of a file) and
   * script tags are not considered.
   */
  monotonicInterleaved: boolean;
  /** Last minus first timestamp over audio and video frames. */
  durationMs: number;
}

function track(ts: number[]): TrackTimestamps {
  let maxGapMs = 0;
  let backwardSteps = 0;
  for (let i = 1; i < ts.length; i++) {
    const step = ts[i]! - ts[i - 1]!;
    if (step < 0) backwardSteps++;
    else if (step > maxGapMs) maxGapMs = step;
  }
  return { frames: ts.length, firstMs: ts[0], lastMs: ts[ts.length - 1], maxGapMs, backwardSteps };
}

export function analyzeTimestamps(tags: readonly FlvTag[]): TimestampReport {
  const video = track(tags.filter(isVideoFrame).map((t) => t.timestamp));
  const audio = track(tags.filter(isAudioFrame).map((t) => t.timestamp));
  const firstFrame = tags.find(isVideoFrame);
  const firstVideoTag = tags.find((t) => t.type === 'video');
  const frames = tags.filter((t) => isVideoFrame(t) || isAudioFrame(t));
  let monotonicInterleaved = true;
  for (let i = 1; i < frames.length; i++) {
    if (frames[i]!.timestamp < frames[i - 1]!.timestamp) monotonicInterleaved = false;
  }
  const firsts = [video.firstMs, audio.firstMs].filter((v): v is number => v !== undefined);
  const lasts = [video.lastMs, audio.lastMs].filter((v): v is number => v !== undefined);
  return {
    videoFrames: video.frames,
    audioFrames: audio.frames,
    maxGapMs: Math.max(video.maxGapMs, audio.maxGapMs),
    monotonic: video.backwardSteps === 0 && audio.backwardSteps === 0,
    firstVideoIsKeyframe: firstFrame?.keyframe === true,
    firstVideoTagIsSequenceHeader: firstVideoTag?.isSequenceHeader === true && firstVideoTag.keyframe === true,
    video,
    audio,
    monotonicInterleaved,
    durationMs: firsts.length ? Math.max(...lasts) - Math.min(...firsts) : 0,
  };
}
