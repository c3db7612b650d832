/**
 * An FLV file (Adobe Flash Video File Format Specification v10.1, annex E) split into its tags,
 * in JS, once, before anything is timed: each tag's type, timestamp (ms, with the extended
 * byte) and body as a view of the file, which is what RTMP would carry as a message payload.
 */

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
export const TAG_SCRIPT = 18;

export interface FlvTag {
  type: number;
  /** Milliseconds (for video: the decode time). */
  timestamp: number;
  /** The tag body: what TsMuxer.muxVideo/muxAudio take. */
  body: Buffer;
  /** A coded frame (AVC/AAC packet type 1), i.e. one that becomes a PES packet. */
  frame: boolean;
  /** Video: a keyframe coded frame. */
  key: boolean;
  /** Video: composition time offset (ms), PTS = timestamp + cts. */
  cts: number;
}

export interface FlvFile {
  tags: FlvTag[];
  videoFrames: number;
  audioFrames: number;
  keyframes: number;
  /** Bytes of every audio and video tag body (what is fed to the muxer). */
  avBodyBytes: number;
  /** Media duration: the last frame's timestamp minus the first's (ms). */
  durationMs: number;
}

export function parseFlv(buf: Buffer): FlvFile {
  if (buf.length < 13 || buf.toString("latin1", 0, 3) !== "FLV") throw new Error("not an FLV file");
  const headerSize = buf.readUInt32BE(5);
  let at = headerSize + 4; // PreviousTagSize0
  const tags: FlvTag[] = [];
  let videoFrames = 0;
  let audioFrames = 0;
  let keyframes = 0;
  let avBodyBytes = 0;
  let first = Infinity;
  let last = -Infinity;
  while (at + 11 <= buf.length) {
    const type = buf[at]! & 0x1f;
    const size = buf.readUIntBE(at + 1, 3);
    const timestamp = buf.readUIntBE(at + 4, 3) | (buf[at + 7]! << 24);
    const start = at + 11;
    const end = start + size;
    if (end + 4 > buf.length) throw new Error(`FLV tag at ${at} runs past the end of the file`);
    if (buf.readUInt32BE(end) !== size + 11) throw new Error(`FLV tag at ${at}: PreviousTagSize mismatch`);
    const body = buf.subarray(start, end);
    let frame = false;
    let key = false;
    let cts = 0;
    if (type === TAG_VIDEO && size >= 5) {
      const codec = body[0]! & 0x0f;
      if (codec !== 7) throw new Error(`FLV video codec id ${codec}: this bench expects AVC (7)`);
      frame = body[1] === 1;
      key = frame && body[0]! >> 4 === 1;
      cts = (body.readUIntBE(2, 3) << 8) >> 8; // SI24
      if (frame) videoFrames++;
      if (key) keyframes++;
    } else if (type === TAG_AUDIO && size >= 2) {
      if (body[0]! >> 4 !== 10) throw new Error(`FLV audio format ${body[0]! >> 4}: this bench expects AAC (10)`);
      frame = body[1] === 1;
      if (frame) audioFrames++;
    }
    if (type === TAG_AUDIO || type === TAG_VIDEO) {
      avBodyBytes += size;
      if (frame) {
        first = Math.min(first, timestamp);
        last = Math.max(last, timestamp);
      }
    }
    tags.push({ type, timestamp, body, frame, key, cts });
    at = end + 4;
  }
  if (at !== buf.length) throw new Error(`FLV: ${buf.length - at} stray bytes at the end`);
  return { tags, videoFrames, audioFrames, keyframes, avBodyBytes, durationMs: last - first };
}
