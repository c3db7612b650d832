/**
 * What the server needs to know about FLV audio and video tag bodies (as RTMP carries
 * them, FLV spec 10.1 E.4.2-E.4.3) and their enhanced-RTMP forms (FourCC codecs: HEVC,
 * AV1, VP9; "Enhanced RTMP" v1/v2): keyframes, sequence headers, codec ids. Everything
 * else in the payload is relayed untouched.
 */

/** FLV video codec ids (legacy header, low nibble of the first byte). */
export const VideoCodec = { H263: 2, ScreenVideo: 3, VP6: 4, VP6Alpha: 5, ScreenVideo2: 6, AVC: 7, HEVC: 12 } as const;
/** FLV sound formats (high nibble of the first byte). */
export const SoundFormat = { MP3: 2, ExHeader: 9, AAC: 10, Speex: 11 } as const;

/** Enhanced RTMP: bit 7 of the first video byte says a FourCC header follows. */
const VIDEO_EX_HEADER = 0x80;

/** Frame type 1 (key frame) in either header form. */
export function isVideoKeyframe(p: Buffer): boolean {
  if (p.length < 1) return false;
  return ((p[0]! >> 4) & 0x07) === 1;
}

/** An AVC/HEVC decoder configuration record, or an enhanced-RTMP SequenceStart. */
export function isVideoSequenceHeader(p: Buffer): boolean {
  if (p.length < 2) return false;
  const b0 = p[0]!;
  if (b0 & VIDEO_EX_HEADER) return (b0 & 0x0f) === 0; // PacketType SequenceStart
  const codec = b0 & 0x0f;
  return (codec === VideoCodec.AVC || codec === VideoCodec.HEVC) && ((b0 >> 4) & 0x07) === 1 && p[1] === 0;
}

/** An AAC AudioSpecificConfig, or an enhanced-RTMP audio SequenceStart. */
export function isAudioSequenceHeader(p: Buffer): boolean {
  if (p.length < 2) return false;
  const format = p[0]! >> 4;
  if (format === SoundFormat.AAC) return p[1] === 0;
  if (format === SoundFormat.ExHeader) return (p[0]! & 0x0f) === 0;
  return false;
}

/** Video codec id (legacy) or FourCC string (enhanced), for logs and stats. */
export function videoCodecName(p: Buffer): string {
  if (p.length < 1) return "unknown";
  const b0 = p[0]!;
  if (b0 & VIDEO_EX_HEADER) return p.length >= 5 ? p.toString("latin1", 1, 5) : "unknown";
  const id = b0 & 0x0f;
  return id === VideoCodec.AVC ? "H264" : id === VideoCodec.HEVC ? "HEVC" : `codec${id}`;
}

export function audioCodecName(p: Buffer): string {
  if (p.length < 1) return "unknown";
  const f = p[0]! >> 4;
  if (f === SoundFormat.ExHeader) return p.length >= 5 ? p.toString("latin1", 1, 5) : "unknown";
  return f === SoundFormat.AAC ? "AAC" : f === SoundFormat.MP3 ? "MP3" : f === SoundFormat.Speex ? "Speex" : `format${f}`;
}

/** FLV file header flags (FLV spec E.2). */
const FLV_HAS_AUDIO = 0x04;
const FLV_HAS_VIDEO = 0x01;

/** The FLV header and PreviousTagSize0: the first 13 bytes of an FLV file or HTTP-FLV stream. */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const b = Buffer.alloc(13);
  b.write("FLV", 0, "latin1");
  b[3] = 1;
  b[4] = (hasAudio ? FLV_HAS_AUDIO : 0) | (hasVideo ? FLV_HAS_VIDEO : 0);
  b.writeUInt32BE(9, 5);
  // bytes 9..12: PreviousTagSize0 = 0
  return b;
}

/** The largest tag body FLV's 24-bit DataSize can say. */
export const FLV_MAX_TAG_BODY = 0xffffff;

/**
 * One FLV tag (FLV spec E.4.1) and the PreviousTagSize after it: type 8/9/18, the
 * timestamp's low 24 bits then its high 8 bits (32 bits in all: it wraps after 49.7 days,
 * as RTMP's), stream id 0. Throws a RangeError for a body FLV cannot carry.
 */
export function encodeFlvTag(type: number, timestamp: number, body: Buffer): Buffer {
  if (body.length > FLV_MAX_TAG_BODY) throw new RangeError(`FLV tag body of ${body.length} bytes is over ${FLV_MAX_TAG_BODY}`);
  const out = Buffer.allocUnsafe(11 + body.length + 4);
  const ts = timestamp % 0x100000000;
  out[0] = type;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = (ts >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  body.copy(out, 11);
  out.writeUInt32BE(11 + body.length, 11 + body.length);
  return out;
}
