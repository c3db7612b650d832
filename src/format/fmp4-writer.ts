/**
 * Fragmented MP4 (ISO/IEC 14496-12, "ISO BMFF") from FLV tag bodies as RTMP carries them:
 * `ftyp` and `moov` (the tracks' sample entries from the sequence headers: avc1/avcC,
 * hvc1/hvcC, av01/av1C, mp4a/esds for AAC and MP3), then one `moof` + `mdat` per fragment.
 * A fragment ends before each video keyframe, or after `maxFragmentMs` of media (1 s
 * without video), so a file
 * cut short (a crash) is readable up to its last whole fragment, and the file streams.
 *
 * Tracks: video (timescale 90 kHz) then audio (timescale its sample rate), each known from
 * its sequence header (MP3: from its first frame). The init segment is written with the
 * first fragment, so both sequence headers of a publish are there by then; a frame of a
 * track the init segment does not have is dropped (`droppedFrames`). A sequence header that
 * changes after the init segment cannot be followed in the same file (the caller starts a
 * new file), and is ignored.
 *
 * Each sample's duration is the step to the next sample of its track, so a sample is held
 * until the next one arrives; `finish()` gives the last ones the previous step (AAC: 1024
 * samples), ends the file and says where the durations in `moov` are (`mvhd`, `tkhd`,
 * `mehd`), to be patched once the length is known.
 */
import { avcPictureSize } from "./codec-info.js";
import { SoundFormat, VideoCodec } from "./flv.js";

const VIDEO_TIMESCALE = 90_000;
const MOVIE_TIMESCALE = 1000;
/** A fragment this long in media time is closed even without a keyframe (a long GOP). */
const DEFAULT_MAX_FRAGMENT_MS = 5000;
/** Fragments of a file without video (no keyframes to cut at). */
const AUDIO_ONLY_FRAGMENT_MS = 1000;

/** ISO/IEC 14496-12 8.8.3.1 sample flags: depends on no other sample (a sync sample). */
const SYNC_SAMPLE_FLAGS = 0x02000000;
/** Depends on others, and sample_is_non_sync_sample. */
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

/** tfhd flag: offsets are from the moof's first byte (8.8.7.1). */
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags (8.8.8.1). */
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTO = 0x000800;

export type Fmp4VideoCodec = "avc1" | "hvc1" | "av01";
export type Fmp4AudioCodec = "aac" | "mp3";

/** A place in the written bytes to overwrite when the file ends (durations). */
export interface Fmp4Patch {
  offset: number;
  bytes: Buffer;
}

export interface Fmp4Finish {
  /** The last fragment (and the init segment when no fragment was written yet). */
  parts: Buffer[];
  /** Durations to write over the zeros of the init segment. */
  patches: Fmp4Patch[];
  /** Media duration in ms: the longest track's end. */
  durationMs: number;
}

export interface Fmp4WriterOptions {
  /** The longest fragment of a stream with video, in media ms; default 5000. */
  maxFragmentMs?: number;
}

interface Sample {
  /** Decode time in the track's timescale (as the publisher stamped it, ms converted). */
  dts: number;
  /** Composition time offset (pts - dts) in the track's timescale. */
  cto: number;
  duration: number;
  sync: boolean;
  data: Buffer;
}

interface Track {
  kind: "video" | "audio";
  /** 1-based, set when the init segment is written. */
  id: number;
  timescale: number;
  /** Sample entry box (avc1, hvc1, av01, mp4a), made from the sequence header. */
  sampleEntry: Buffer;
  /** The sequence header it was made from, to tell a change. */
  config: Buffer;
  /** Samples whose duration is known, waiting for the fragment to close. */
  ready: Sample[];
  readyBytes: number;
  /** The last sample, whose duration waits for the next one. */
  held: Sample | null;
  /** Decode time where the next written sample starts (track timescale); -1 before the first. */
  decodeEnd: number;
  /** Step used for the last sample at the end. */
  lastDuration: number;
  defaultDuration: number;
}

/** A video frame as the FLV body says it: which codec, what kind of packet, where the data is. */
interface VideoPacket {
  codec: Fmp4VideoCodec | null;
  /** "config" sequence header, "frame" coded frame, "other" end of sequence, metadata, command. */
  kind: "config" | "frame" | "other";
  keyframe: boolean;
  ctoMs: number;
  data: Buffer;
}

interface AudioPacket {
  codec: Fmp4AudioCodec | null;
  kind: "config" | "frame";
  data: Buffer;
}

export class Fmp4Writer {
  /** Frames not written: no sequence header for their track, or a codec MP4 cannot carry here. */
  droppedFrames = 0;

  private video: Track | null = null;
  private audio: Track | null = null;
  /** What the video sample entry says of the picture when the SPS does not (HEVC, AV1): from onMetaData. */
  private sizeHint = { width: 0, height: 0 };
  private initDone = false;
  private initOffsets: { mvhd: number; mehd: number; tkhd: Map<Track, number> } | null = null;
  private sequence = 0;
  /** Bytes written (or handed out by take()) so far: the file offset of the next box. */
  private written = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  /** The media time (ms) the open fragment started at. */
  private fragmentStartMs = -1;
  private readonly maxFragmentMs: number;

  constructor(opts: Fmp4WriterOptions = {}) {
    this.maxFragmentMs = opts.maxFragmentMs ?? DEFAULT_MAX_FRAGMENT_MS;
  }

  /** Picture size for the sample entry when the sequence header does not tell it (from onMetaData). */
  setVideoSize(width: number, height: number): void {
    if (width > 0 && height > 0 && width <= 0xffff && height <= 0xffff) this.sizeHint = { width: Math.round(width), height: Math.round(height) };
  }

  /** The init segment (ftyp + moov) is out: the tracks are fixed for this file. */
  get initWritten(): boolean {
    return this.initDone;
  }

  /** Bytes of whole fragments waiting for take(). */
  get pendingBytes(): number {
    return this.outBytes;
  }

  /** An FLV video tag body at decode time `ms`. */
  writeVideo(ms: number, body: Buffer): void {
    const p = parseVideo(body);
    if (p.kind === "other") return;
    if (p.kind === "config") {
      this.onVideoConfig(p, body);
      return;
    }
    const track = this.video;
    if (track === null || p.codec === null || (this.initDone && track.id === 0)) {
      this.droppedFrames++;
      return;
    }
    this.maybeCloseFragment(ms, p.keyframe);
    this.add(track, ms, Math.round(p.ctoMs * (VIDEO_TIMESCALE / 1000)), p.keyframe, p.data);
  }

  /** An FLV audio tag body at `ms`. */
  writeAudio(ms: number, body: Buffer): void {
    const p = parseAudio(body);
    if (p.codec === null) {
      this.droppedFrames++;
      return;
    }
    if (p.kind === "config") {
      this.onAudioConfig(p, body);
      return;
    }
    if (p.codec === "mp3" && this.audio === null && !this.initDone) this.onMp3(body, p.data);
    const track = this.audio;
    if (track === null || p.data.length === 0 || (this.initDone && track.id === 0)) {
      this.droppedFrames++;
      return;
    }
    this.maybeCloseFragment(ms, false);
    this.add(track, ms, 0, true, p.data);
  }

  /** The init segment and fragments made since the last call, in file order. */
  take(): Buffer[] {
    const out = this.out;
    this.out = [];
    this.outBytes = 0;
    return out;
  }

  /** Ends the file: the held samples get their durations and go out in a last fragment. */
  finish(): Fmp4Finish {
    for (const t of this.tracks()) {
      if (t.held === null) continue;
      t.held.duration = t.lastDuration > 0 ? t.lastDuration : t.defaultDuration;
      this.ready(t, t.held);
      t.held = null;
    }
    this.closeFragment();
    if (!this.initDone) this.writeInit();
    const parts = this.take();
    const patches: Fmp4Patch[] = [];
    let durationMs = 0;
    const offsets = this.initOffsets!;
    for (const t of this.tracks()) {
      if (t.id === 0 || t.decodeEnd < 0) continue;
      const ms = Math.round((t.decodeEnd * 1000) / t.timescale);
      durationMs = Math.max(durationMs, ms);
      const at = offsets.tkhd.get(t);
      if (at !== undefined) patches.push({ offset: at, bytes: u32(ms) });
    }
    patches.push({ offset: offsets.mvhd, bytes: u32(durationMs) }, { offset: offsets.mehd, bytes: u32(durationMs) });
    return { parts, patches, durationMs };
  }

  private *tracks(): Generator<Track> {
    if (this.video) yield this.video;
    if (this.audio) yield this.audio;
  }

  private onVideoConfig(p: VideoPacket, body: Buffer): void {
    if (p.codec === null || p.data.length === 0) return;
    if (this.video !== null && this.video.config.equals(body)) return;
    if (this.initDone) return; // a new file is the caller's business
    const entry = videoSampleEntry(p.codec, p.data, this.sizeHint);
    if (entry === null) return;
    this.video = newTrack("video", VIDEO_TIMESCALE, entry, Buffer.from(body), Math.round(VIDEO_TIMESCALE / 25));
  }

  private onAudioConfig(p: AudioPacket, body: Buffer): void {
    if (p.codec !== "aac" || p.data.length < 2) return;
    if (this.audio !== null && this.audio.config.equals(body)) return;
    if (this.initDone) return;
    const asc = audioSpecificConfig(p.data);
    if (asc === null) return;
    // FLV's own channel bit when the AudioSpecificConfig leaves it to the program config (0).
    const channels = asc.channels > 0 ? asc.channels : body[0]! >> 4 === SoundFormat.AAC ? (body[0]! & 1) + 1 : 2;
    this.audio = newTrack("audio", asc.sampleRate, audioSampleEntry(0x40, asc.sampleRate, channels, p.data), Buffer.from(body), 1024);
  }

  private onMp3(body: Buffer, frame: Buffer): void {
    const h = mp3Header(frame);
    if (h === null) return;
    this.audio = newTrack("audio", h.sampleRate, audioSampleEntry(h.objectType, h.sampleRate, h.channels, null), Buffer.from(body.subarray(0, 1)), h.samplesPerFrame);
  }

  private add(track: Track, ms: number, cto: number, sync: boolean, data: Buffer): void {
    const dts = Math.round((ms * track.timescale) / 1000);
    const held = track.held;
    if (held !== null) {
      held.duration = Math.max(0, dts - held.dts);
      if (held.duration > 0) track.lastDuration = held.duration;
      this.ready(track, held);
    }
    if (this.fragmentStartMs < 0) this.fragmentStartMs = ms;
    track.held = { dts, cto, duration: 0, sync, data };
  }

  private ready(track: Track, s: Sample): void {
    if (track.decodeEnd < 0) track.decodeEnd = s.dts;
    track.ready.push(s);
    track.readyBytes += s.data.length;
  }

  /** Closes the open fragment before a keyframe, or when it has grown past maxFragmentMs. */
  private maybeCloseFragment(ms: number, keyframe: boolean): void {
    if (this.fragmentStartMs < 0) return;
    const limit = this.video !== null ? this.maxFragmentMs : AUDIO_ONLY_FRAGMENT_MS;
    if (keyframe || ms - this.fragmentStartMs >= limit) {
      // The held video sample ends at this keyframe: it belongs to the closing fragment.
      const v = this.video;
      if (keyframe && v !== null && v.held !== null) {
        const dts = Math.round((ms * v.timescale) / 1000);
        v.held.duration = Math.max(0, dts - v.held.dts);
        if (v.held.duration > 0) v.lastDuration = v.held.duration;
        this.ready(v, v.held);
        v.held = null;
      }
      this.closeFragment();
      this.fragmentStartMs = ms;
    }
  }

  private closeFragment(): void {
    const trafs: Track[] = [];
    for (const t of this.tracks()) if (t.ready.length > 0) trafs.push(t);
    if (trafs.length === 0) return;
    if (!this.initDone) this.writeInit();
    const inFile = trafs.filter((t) => t.id !== 0);
    if (inFile.length === 0) {
      for (const t of trafs) this.clear(t);
      return;
    }
    this.sequence++;
    // moof: mfhd, then per track tfhd + tfdt + trun.
    let moofSize = 8 + 16;
    for (const t of inFile) moofSize += trafSize(t);
    const moof = Buffer.alloc(moofSize);
    let o = writeBoxHeader(moof, 0, moofSize, "moof");
    o = writeFullBoxHeader(moof, o, 16, "mfhd", 0, 0);
    moof.writeUInt32BE(this.sequence, o);
    o += 4;
    let dataOffset = moofSize + 8;
    let mdatBytes = 0;
    for (const t of inFile) {
      o = writeTraf(moof, o, t, dataOffset);
      dataOffset += t.readyBytes;
      mdatBytes += t.readyBytes;
    }
    const mdatHeader = Buffer.alloc(8);
    writeBoxHeader(mdatHeader, 0, 8 + mdatBytes, "mdat");
    this.emit(moof);
    this.emit(mdatHeader);
    for (const t of inFile) {
      for (const s of t.ready) this.emit(s.data);
      for (const s of t.ready) t.decodeEnd += s.duration;
      this.clear(t);
    }
  }

  private clear(t: Track): void {
    t.ready = [];
    t.readyBytes = 0;
  }

  private emit(b: Buffer): void {
    this.out.push(b);
    this.outBytes += b.length;
    this.written += b.length;
  }

  private writeInit(): void {
    this.initDone = true;
    const tracks: Track[] = [];
    for (const t of this.tracks()) {
      t.id = tracks.length + 1;
      tracks.push(t);
    }
    const ftyp = box(
      "ftyp",
      Buffer.from("isom", "latin1"),
      u32(0x200),
      Buffer.from(`isomiso6mp41${this.video?.sampleEntry.toString("latin1", 4, 8) === "avc1" ? "avc1" : ""}`, "latin1"),
    );
    const traks = tracks.map((t) => trak(t));
    const mvex = box("mvex", fullBox("mehd", 0, 0, u32(0)), ...tracks.map((t) => fullBox("trex", 0, 0, u32(t.id), u32(1), u32(0), u32(0), u32(0))));
    const moov = box("moov", mvhd(tracks.length + 1), ...traks, mvex);
    const start = this.written;
    // Offsets of the duration fields: mvhd at moov+8, its duration after version/flags,
    // creation, modification and timescale; tkhd's after version/flags, times, track_ID and a
    // reserved word; mehd's after version/flags.
    const moovAt = start + ftyp.length;
    const mvhdAt = moovAt + 8;
    const tkhd = new Map<Track, number>();
    let at = mvhdAt + MVHD_SIZE;
    for (let i = 0; i < tracks.length; i++) {
      tkhd.set(tracks[i]!, at + 8 + 8 + 20);
      at += traks[i]!.length;
    }
    this.initOffsets = { mvhd: mvhdAt + 8 + 16, mehd: at + 8 + 8 + 4, tkhd };
    this.emit(ftyp);
    this.emit(moov);
  }
}

function newTrack(kind: "video" | "audio", timescale: number, sampleEntry: Buffer, config: Buffer, defaultDuration: number): Track {
  return { kind, id: 0, timescale, sampleEntry, config, ready: [], readyBytes: 0, held: null, decodeEnd: -1, lastDuration: 0, defaultDuration };
}

// ---------------------------------------------------------------------------------------
// FLV bodies (FLV spec E.4.2-E.4.3, Enhanced RTMP v1/v2)

const SI24 = (b: Buffer, o: number): number => {
  const v = b.readUIntBE(o, 3);
  return v & 0x800000 ? v - 0x1000000 : v;
};

const NO_VIDEO: VideoPacket = { codec: null, kind: "other", keyframe: false, ctoMs: 0, data: Buffer.alloc(0) };

function parseVideo(b: Buffer): VideoPacket {
  if (b.length < 1) return NO_VIDEO;
  const b0 = b[0]!;
  const frameType = (b0 >> 4) & 0x07;
  if (frameType === 5) return NO_VIDEO; // video info / command frame
  if (b0 & 0x80) {
    // Enhanced RTMP: [IsExHeader][FrameType:3][PacketType:4][FourCC]...
    if (b.length < 5) return NO_VIDEO;
    const packetType = b0 & 0x0f;
    const fourcc = b.toString("latin1", 1, 5);
    const codec: Fmp4VideoCodec | null = fourcc === "avc1" || fourcc === "hvc1" || fourcc === "av01" ? fourcc : null;
    if (packetType === 0) return { codec, kind: "config", keyframe: true, ctoMs: 0, data: b.subarray(5) };
    if (packetType === 1) {
      // CodedFrames: avc1 and hvc1 carry a composition time (SI24) first.
      if (codec === "avc1" || codec === "hvc1") {
        if (b.length < 8) return NO_VIDEO;
        return { codec, kind: "frame", keyframe: frameType === 1, ctoMs: SI24(b, 5), data: b.subarray(8) };
      }
      return { codec, kind: "frame", keyframe: frameType === 1, ctoMs: 0, data: b.subarray(5) };
    }
    if (packetType === 3) return { codec, kind: "frame", keyframe: frameType === 1, ctoMs: 0, data: b.subarray(5) };
    return NO_VIDEO; // SequenceEnd, Metadata, MPEG2TSSequenceStart, Multitrack, ModEx
  }
  const id = b0 & 0x0f;
  if ((id !== VideoCodec.AVC && id !== VideoCodec.HEVC) || b.length < 5) return { ...NO_VIDEO, kind: "frame" };
  const codec: Fmp4VideoCodec = id === VideoCodec.AVC ? "avc1" : "hvc1";
  const packetType = b[1]!;
  if (packetType === 0) return { codec, kind: "config", keyframe: true, ctoMs: 0, data: b.subarray(5) };
  if (packetType !== 1) return NO_VIDEO;
  return { codec, kind: "frame", keyframe: frameType === 1, ctoMs: SI24(b, 2), data: b.subarray(5) };
}

function parseAudio(b: Buffer): AudioPacket {
  if (b.length < 1) return { codec: null, kind: "frame", data: b };
  const format = b[0]! >> 4;
  if (format === SoundFormat.AAC) {
    if (b.length < 2) return { codec: null, kind: "frame", data: b };
    return { codec: "aac", kind: b[1] === 0 ? "config" : "frame", data: b.subarray(2) };
  }
  if (format === SoundFormat.MP3 || format === 14) return { codec: "mp3", kind: "frame", data: b.subarray(1) };
  if (format === SoundFormat.ExHeader && b.length >= 5) {
    // Enhanced RTMP audio: [SoundFormat 9][PacketType:4][FourCC]...: SequenceStart 0, CodedFrames 1.
    const packetType = b[0]! & 0x0f;
    const fourcc = b.toString("latin1", 1, 5);
    const codec: Fmp4AudioCodec | null = fourcc === "mp4a" ? "aac" : fourcc === ".mp3" ? "mp3" : null;
    if (packetType === 0) return { codec, kind: "config", data: b.subarray(5) };
    if (packetType === 1) return { codec, kind: "frame", data: b.subarray(5) };
  }
  return { codec: null, kind: "frame", data: b };
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * The sample rate and channels of an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1): object
 * type (5 bits, 31 escapes to 6 more), frequency index (4 bits, 15 escapes to 24 bits of
 * rate), channel configuration (4 bits). The core rate is the timescale (HE-AAC's SBR
 * doubles the output rate, not the frames' 1024 core samples).
 */
function audioSpecificConfig(asc: Buffer): { sampleRate: number; channels: number } | null {
  let pos = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) {
      if (pos >> 3 >= asc.length) throw new RangeError("AudioSpecificConfig truncated");
      v = v * 2 + ((asc[pos >> 3]! >> (7 - (pos & 7))) & 1);
    }
    return v;
  };
  try {
    if (bits(5) === 31) bits(6);
    const index = bits(4);
    const sampleRate = index === 15 ? bits(24) : AAC_RATES[index];
    const channels = bits(4);
    return sampleRate !== undefined && sampleRate > 0 ? { sampleRate, channels } : null;
  } catch {
    return null;
  }
}

/** MPEG audio frame header (ISO/IEC 11172-3 2.4.1.3): sample rate, channels, samples per frame. */
function mp3Header(f: Buffer): { objectType: number; sampleRate: number; channels: number; samplesPerFrame: number } | null {
  if (f.length < 4 || f[0] !== 0xff || (f[1]! & 0xe0) !== 0xe0) return null;
  const version = (f[1]! >> 3) & 3; // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
  const layer = (f[1]! >> 1) & 3; // 1 Layer III
  const rateIndex = (f[2]! >> 2) & 3;
  if (version === 1 || layer === 0 || rateIndex === 3) return null;
  const base = [44100, 48000, 32000][rateIndex]!;
  const sampleRate = version === 3 ? base : version === 2 ? base / 2 : base / 4;
  const channels = (f[3]! >> 6) === 3 ? 1 : 2;
  const samplesPerFrame = layer === 3 ? 384 : layer === 1 && version !== 3 ? 576 : 1152;
  // esds objectTypeIndication: 0x6B MPEG-1 audio, 0x69 MPEG-2 (and 2.5) audio.
  return { objectType: version === 3 ? 0x6b : 0x69, sampleRate, channels, samplesPerFrame };
}

// ---------------------------------------------------------------------------------------
// boxes

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

function box(type: string, ...payload: Buffer[]): Buffer {
  let size = 8;
  for (const p of payload) size += p.length;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size);
  head.write(type, 4, "latin1");
  return Buffer.concat([head, ...payload], size);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u32(((version & 0xff) << 24) | (flags & 0xffffff)), ...payload);
}

function writeBoxHeader(b: Buffer, o: number, size: number, type: string): number {
  b.writeUInt32BE(size, o);
  b.write(type, o + 4, "latin1");
  return o + 8;
}

function writeFullBoxHeader(b: Buffer, o: number, size: number, type: string, version: number, flags: number): number {
  o = writeBoxHeader(b, o, size, type);
  b.writeUInt32BE((((version & 0xff) << 24) | (flags & 0xffffff)) >>> 0, o);
  return o + 4;
}

/** The unity transformation matrix of mvhd and tkhd (8.2.2.3). */
const MATRIX = Buffer.concat([0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].map(u32));

const MVHD_SIZE = 108;

function mvhd(nextTrackId: number): Buffer {
  return fullBox(
    "mvhd",
    0,
    0,
    u32(0), // creation_time
    u32(0), // modification_time
    u32(MOVIE_TIMESCALE),
    u32(0), // duration: patched at the end
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    Buffer.alloc(10), // reserved
    MATRIX,
    Buffer.alloc(24), // pre_defined
    u32(nextTrackId),
  );
}

function trak(t: Track): Buffer {
  const video = t.kind === "video";
  const entry = t.sampleEntry;
  const width = video ? entry.readUInt16BE(8 + 24) : 0;
  const height = video ? entry.readUInt16BE(8 + 26) : 0;
  const tkhd = fullBox(
    "tkhd",
    0,
    3, // track_enabled | track_in_movie
    u32(0),
    u32(0),
    u32(t.id),
    u32(0), // reserved
    u32(0), // duration: patched at the end
    Buffer.alloc(8), // reserved
    u16(0), // layer
    u16(0), // alternate_group
    u16(video ? 0 : 0x0100), // volume
    u16(0),
    MATRIX,
    u32(width * 0x10000),
    u32(height * 0x10000),
  );
  const mdhd = fullBox("mdhd", 0, 0, u32(0), u32(0), u32(t.timescale), u32(0), u16(0x55c4) /* "und" */, u16(0));
  const hdlr = fullBox(
    "hdlr",
    0,
    0,
    u32(0),
    Buffer.from(video ? "vide" : "soun", "latin1"),
    Buffer.alloc(12),
    Buffer.from(video ? "VideoHandler\0" : "SoundHandler\0", "latin1"),
  );
  const mediaHeader = video ? fullBox("vmhd", 0, 1, Buffer.alloc(8)) : fullBox("smhd", 0, 0, Buffer.alloc(4));
  const dinf = box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)));
  const stbl = box(
    "stbl",
    fullBox("stsd", 0, 0, u32(1), entry),
    fullBox("stts", 0, 0, u32(0)),
    fullBox("stsc", 0, 0, u32(0)),
    fullBox("stsz", 0, 0, u32(0), u32(0)),
    fullBox("stco", 0, 0, u32(0)),
  );
  return box("trak", tkhd, box("mdia", mdhd, hdlr, box("minf", mediaHeader, dinf, stbl)));
}

/** A VisualSampleEntry (8.5.2, 12.1.3) with its codec configuration box. */
function videoSampleEntry(codec: Fmp4VideoCodec, record: Buffer, hint: { width: number; height: number }): Buffer | null {
  let size = hint;
  if (codec === "avc1") {
    // AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1): the first SPS gives the size.
    if (record.length < 7) return null;
    if ((record[5]! & 0x1f) > 0 && record.length >= 8) {
      const len = record.readUInt16BE(6);
      const s = 8 + len <= record.length ? avcPictureSize(record.subarray(8, 8 + len)) : null;
      if (s) size = s;
    }
  } else if (record.length < 4) {
    return null;
  }
  const configType = codec === "avc1" ? "avcC" : codec === "hvc1" ? "hvcC" : "av1C";
  const compressor = Buffer.alloc(32);
  return box(
    codec,
    Buffer.alloc(6), // reserved
    u16(1), // data_reference_index
    Buffer.alloc(16), // pre_defined, reserved
    u16(size.width),
    u16(size.height),
    u32(0x00480000), // 72 dpi
    u32(0x00480000),
    u32(0), // reserved
    u16(1), // frame_count
    compressor,
    u16(0x0018), // depth
    u16(0xffff), // pre_defined = -1
    box(configType, record),
  );
}

/** An MP4AudioSampleEntry (ISO/IEC 14496-14 5.6) with its esds: AAC (0x40) or MP3 (0x6B). */
function audioSampleEntry(objectType: number, sampleRate: number, channels: number, asc: Buffer | null): Buffer {
  const dsi = asc ? descriptor(0x05, asc) : Buffer.alloc(0);
  const decoderConfig = descriptor(
    0x04,
    Buffer.from([objectType, (0x05 << 2) | 1 /* AudioStream, upstream 0, reserved 1 */]),
    Buffer.alloc(3), // bufferSizeDB
    u32(0), // maxBitrate
    u32(0), // avgBitrate
    dsi,
  );
  const es = descriptor(0x03, u16(0) /* ES_ID */, Buffer.from([0]), decoderConfig, descriptor(0x06, Buffer.from([0x02])));
  return box(
    "mp4a",
    Buffer.alloc(6),
    u16(1), // data_reference_index
    Buffer.alloc(8), // reserved
    u16(channels),
    u16(16), // samplesize
    u16(0),
    u16(0),
    u32(sampleRate <= 0xffff ? sampleRate * 0x10000 : 0),
    fullBox("esds", 0, 0, es),
  );
}

/** An MPEG-4 descriptor (ISO/IEC 14496-1 8.3.3): tag, expandable size, body. */
function descriptor(tag: number, ...body: Buffer[]): Buffer {
  let n = 0;
  for (const b of body) n += b.length;
  const len: number[] = [n & 0x7f];
  for (let v = n >> 7; v > 0; v >>= 7) len.unshift(0x80 | (v & 0x7f));
  return Buffer.concat([Buffer.from([tag, ...len]), ...body]);
}

function trunSampleBytes(t: Track): number {
  return t.kind === "video" ? 16 : 12;
}

function trafSize(t: Track): number {
  // traf header 8, tfhd 16, tfdt (v1) 20, trun: 12 + count 4 + data_offset 4 + samples.
  return 8 + 16 + 20 + 20 + t.ready.length * trunSampleBytes(t);
}

function writeTraf(b: Buffer, o: number, t: Track, dataOffset: number): number {
  const size = trafSize(t);
  o = writeBoxHeader(b, o, size, "traf");
  o = writeFullBoxHeader(b, o, 16, "tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF);
  b.writeUInt32BE(t.id, o);
  o += 4;
  o = writeFullBoxHeader(b, o, 20, "tfdt", 1, 0);
  b.writeBigUInt64BE(BigInt(Math.max(0, t.decodeEnd)), o);
  o += 8;
  const video = t.kind === "video";
  const negative = video && t.ready.some((s) => s.cto < 0);
  const flags = TRUN_DATA_OFFSET | TRUN_SAMPLE_DURATION | TRUN_SAMPLE_SIZE | TRUN_SAMPLE_FLAGS | (video ? TRUN_SAMPLE_CTO : 0);
  // Version 1 makes the composition offsets signed (8.8.8.2); needed only when one is negative.
  o = writeFullBoxHeader(b, o, 20 + t.ready.length * trunSampleBytes(t), "trun", negative ? 1 : 0, flags);
  b.writeUInt32BE(t.ready.length, o);
  b.writeInt32BE(dataOffset, o + 4);
  o += 8;
  for (const s of t.ready) {
    b.writeUInt32BE(s.duration >>> 0, o);
    b.writeUInt32BE(s.data.length, o + 4);
    b.writeUInt32BE(s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS, o + 8);
    o += 12;
    if (video) {
      if (negative) b.writeInt32BE(s.cto, o);
      else b.writeUInt32BE(s.cto, o);
      o += 4;
    }
  }
  return o;
}
