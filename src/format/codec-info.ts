/**
 * What the API shows of a stream's codecs, read from its sequence headers as RTMP carries
 * them (FLV tag bodies): H.264 profile, level and picture size (from the SPS), HEVC profile
 * and level, AAC object type, sample rate and channels. Names follow SRS's API
 * (srs_avc_profile2str, srs_aac_object2str). Malformed input gives what could be read.
 */

export interface VideoInfo {
  codec: string;
  profile: string;
  level: string;
  width: number;
  height: number;
}

export interface AudioInfo {
  codec: string;
  sample_rate: number;
  channel: number;
  profile: string;
}

const AVC_PROFILES: Record<number, string> = {
  66: "Baseline",
  77: "Main",
  88: "Extended",
  100: "High",
  110: "High(10)",
  122: "High(422)",
  244: "High(444)",
};

const HEVC_PROFILES: Record<number, string> = { 1: "Main", 2: "Main10", 3: "Main Still Picture", 4: "Rext" };

const AAC_OBJECTS: Record<number, string> = { 1: "Main", 2: "LC", 3: "SSR", 5: "HE", 29: "HEv2" };

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const FLV_RATES = [5512, 11025, 22050, 44100];

/** Exp-Golomb reader over an RBSP (emulation-prevention bytes removed). */
class BitReader {
  private pos = 0;
  constructor(private readonly b: Buffer) {}
  get left(): number {
    return this.b.length * 8 - this.pos;
  }
  bit(): number {
    if (this.pos >= this.b.length * 8) throw new RangeError("SPS truncated");
    const v = (this.b[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError("bad Exp-Golomb code");
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.alloc(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/** Width and height from an H.264 SPS NAL unit (with its header byte), ITU-T H.264 7.3.2.1.1. */
export function avcPictureSize(sps: Buffer): { width: number; height: number } | null {
  try {
    const r = new BitReader(unescapeRbsp(sps.subarray(1)));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
      chroma = r.ue();
      if (chroma === 3) r.bit();
      r.ue();
      r.ue();
      r.bit();
      if (r.bit()) {
        for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
          if (!r.bit()) continue;
          const size = i < 6 ? 16 : 64;
          let last = 8;
          let next = 8;
          for (let j = 0; j < size && next !== 0; j++) {
            next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const n = r.ue();
      if (n > 255) return null;
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit();
    const wMbs = r.ue() + 1;
    const hMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit();
    r.bit();
    let [cl, cr, ct, cb] = [0, 0, 0, 0];
    if (r.bit()) [cl, cr, ct, cb] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const unitX = chroma === 1 || chroma === 2 ? 2 : 1;
    const unitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = wMbs * 16 - (cl + cr) * unitX;
    const height = (2 - frameMbsOnly) * hMapUnits * 16 - (ct + cb) * unitY;
    return width > 0 && height > 0 && width <= 16384 && height <= 16384 ? { width, height } : null;
  } catch {
    return null;
  }
}

function levelName(idc: number, divisor: number): string {
  if (idc <= 0) return "Other";
  const v = idc / divisor;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** Video codec info from a video sequence header tag body; null when it is not one. */
export function videoInfoOf(body: Buffer): VideoInfo | null {
  if (body.length < 2) return null;
  const b0 = body[0]!;
  let codec: string;
  let record: Buffer;
  if (b0 & 0x80) {
    if (body.length < 5) return null;
    const fourcc = body.toString("latin1", 1, 5);
    codec = fourcc === "avc1" ? "H264" : fourcc === "hvc1" ? "HEVC" : fourcc === "av01" ? "AV1" : fourcc === "vp09" ? "VP9" : "Other";
    record = body.subarray(5);
  } else {
    const id = b0 & 0x0f;
    codec = id === 7 ? "H264" : id === 12 ? "HEVC" : id === 4 ? "VP6" : "Other";
    record = body.subarray(5);
  }
  const info: VideoInfo = { codec, profile: "Other", level: "Other", width: 0, height: 0 };
  if (codec === "H264" && record.length >= 7) {
    info.profile = AVC_PROFILES[record[1]!] ?? "Other";
    info.level = levelName(record[3]!, 10);
    const spsCount = record[5]! & 0x1f;
    if (spsCount > 0 && record.length >= 8) {
      const len = record.readUInt16BE(6);
      if (8 + len <= record.length) {
        const size = avcPictureSize(record.subarray(8, 8 + len));
        if (size) Object.assign(info, size);
      }
    }
  } else if (codec === "HEVC" && record.length >= 13) {
    info.profile = HEVC_PROFILES[record[1]! & 0x1f] ?? "Other";
    info.level = levelName(record[12]!, 30);
  }
  return info;
}

/** Audio codec info from an audio tag body (the AAC sequence header for AAC, any frame otherwise). */
export function audioInfoOf(body: Buffer): AudioInfo | null {
  if (body.length < 1) return null;
  const b0 = body[0]!;
  const format = b0 >> 4;
  const info: AudioInfo = {
    codec: format === 10 ? "AAC" : format === 2 || format === 14 ? "MP3" : format === 13 ? "Opus" : "Other",
    sample_rate: FLV_RATES[(b0 >> 2) & 3]!,
    channel: (b0 & 1) + 1,
    profile: "Other",
  };
  if (format === 10 && body.length >= 4 && body[1] === 0) {
    // AudioSpecificConfig, ISO/IEC 14496-3 1.6.2.1: object type (5), frequency index (4), channels (4).
    const asc = body.readUInt16BE(2);
    const object = asc >> 11;
    const freq = (asc >> 7) & 0x0f;
    const channels = (asc >> 3) & 0x0f;
    info.profile = AAC_OBJECTS[object] ?? "Other";
    if (freq < AAC_RATES.length) info.sample_rate = AAC_RATES[freq]!;
    if (channels > 0) info.channel = channels;
  }
  return info;
}
