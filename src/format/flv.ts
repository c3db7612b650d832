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
