/**
 * The fragmented MP4 writer: its boxes read back with the test's own box reader (ftyp, moov
 * with avcC/hvcC/esds, mvex, moof/mdat per GOP, trun sizes and durations, the duration
 * patches), then whole FLV fixtures written to .mp4 files that ffprobe must read with both
 * tracks, the right duration and the FLV's own timestamps; a file cut short still reads.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fmp4Writer } from '../../../src/format/fmp4-writer.js';
import { testMedia, type FixtureKind } from '../../support/fixtures.js';
import { parseFlv } from '../../support/flv.js';

const run = promisify(execFile);

// ---- a small ISO BMFF reader (the test's own) ----

interface Box {
  type: string;
  offset: number;
  size: number;
  /** The payload after the 8-byte header. */
  body: Buffer;
  children: Box[];
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'dinf', 'mvex', 'moof', 'traf', 'edts']);

function boxes(buf: Buffer, base = 0, start = 0, end = buf.length): Box[] {
  const out: Box[] = [];
  let o = start;
  while (o + 8 <= end) {
    const size = buf.readUInt32BE(o);
    expect(size).toBeGreaterThanOrEqual(8);
    expect(o + size).toBeLessThanOrEqual(end);
    const type = buf.toString('latin1', o + 4, o + 8);
    const body = buf.subarray(o + 8, o + size);
    const children = CONTAINERS.has(type) ? boxes(buf, base, o + 8, o + size) : [];
    out.push({ type, offset: base + o, size, body, children });
    o += size;
  }
  expect(o).toBe(end);
  return out;
}

function find(list: Box[], ...path: string[]): Box {
  let cur: Box | undefined;
  let level = list;
  for (const p of path) {
    cur = level.find((b) => b.type === p);
    if (!cur) throw new Error(`no ${p} in ${level.map((b) => b.type).join(',')}`);
    level = cur.children;
  }
  return cur!;
}

function all(list: Box[], type: string): Box[] {
  return list.filter((b) => b.type === type);
}

interface Trun {
  flags: number;
  count: number;
  dataOffset: number;
  samples: { duration: number; size: number; flags: number; cto?: number }[];
}

function trun(b: Box): Trun {
  const flags = b.body.readUInt32BE(0) & 0xffffff;
  const version = b.body[0]!;
  const count = b.body.readUInt32BE(4);
  const dataOffset = b.body.readInt32BE(8);
  const samples: Trun['samples'] = [];
  let o = 12;
  for (let i = 0; i < count; i++) {
    const s: Trun['samples'][number] = { duration: b.body.readUInt32BE(o), size: b.body.readUInt32BE(o + 4), flags: b.body.readUInt32BE(o + 8) };
    o += 12;
    if (flags & 0x800) {
      s.cto = version === 1 ? b.body.readInt32BE(o) : b.body.readUInt32BE(o);
      o += 4;
    }
    samples.push(s);
  }
  expect(o).toBe(b.body.length);
  return { flags, count, dataOffset, samples };
}

// ---- synthetic FLV bodies ----

/** An avcC for 320x240 Baseline (x264's, from the h264-only fixture): one SPS and one PPS. */
const SPS = Buffer.from('6742c00dda0507ec0440000003004000000c83c50aa8', 'hex');
const PPS = Buffer.from('68ce0fc8', 'hex');
const AVCC = Buffer.concat([Buffer.from([1, 0x42, 0xc0, 0x0d, 0xff, 0xe1]), u16(SPS.length), SPS, Buffer.from([1]), u16(PPS.length), PPS]);
const AVC_SH = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), AVCC]);
/** AAC LC, 44.1 kHz, stereo. */
const AAC_SH = Buffer.from([0xaf, 0x00, 0x12, 0x10]);

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function avcFrame(key: boolean, cts: number, size = 100): Buffer {
  const nal = Buffer.alloc(size, key ? 0x65 : 0x41);
  const b = Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), u16(0), u16(size), nal]);
  b.writeUIntBE(cts, 2, 3);
  return b;
}

function aacFrame(size = 50): Buffer {
  return Buffer.concat([Buffer.from([0xaf, 0x01]), Buffer.alloc(size, 0x21)]);
}

/** `seconds` of 25 fps video (keyframe every `gop` s) and 44.1 kHz AAC, interleaved by time. */
function feed(w: Fmp4Writer, seconds: number, gop = 1): Buffer {
  w.writeVideo(0, AVC_SH);
  w.writeAudio(0, AAC_SH);
  const events: { t: number; video: boolean; i: number }[] = [];
  for (let i = 0; i < seconds * 25; i++) events.push({ t: i * 40, video: true, i });
  for (let i = 0; i * 1024 < seconds * 44100; i++) events.push({ t: Math.round((i * 1024 * 1000) / 44100), video: false, i });
  events.sort((a, b) => a.t - b.t || (a.video ? -1 : 1));
  const out: Buffer[] = [];
  for (const e of events) {
    if (e.video) w.writeVideo(e.t, avcFrame(e.i % (gop * 25) === 0, 0));
    else w.writeAudio(e.t, aacFrame());
    out.push(...w.take());
  }
  const fin = w.finish();
  out.push(...fin.parts);
  const file = Buffer.concat(out);
  for (const p of fin.patches) p.bytes.copy(file, p.offset);
  return file;
}

describe('Fmp4Writer boxes', () => {
  it('writes ftyp, moov with an avc1/avcC and an mp4a/esds track, mvex, then moof+mdat pairs', () => {
    const file = feed(new Fmp4Writer(), 3);
    const top = boxes(file);
    expect(top.map((b) => b.type).slice(0, 2)).toEqual(['ftyp', 'moov']);
    expect(top[0]!.body.toString('latin1', 0, 4)).toBe('isom');
    const rest = top.slice(2).map((b) => b.type);
    expect(rest.length % 2).toBe(0);
    for (let i = 0; i < rest.length; i += 2) expect(rest.slice(i, i + 2)).toEqual(['moof', 'mdat']);

    const moov = top[1]!.children;
    const traks = all(moov, 'trak');
    expect(traks).toHaveLength(2);
    const [video, audio] = traks;
    expect(find(video!.children, 'mdia', 'hdlr').body.toString('latin1', 8, 12)).toBe('vide');
    expect(find(audio!.children, 'mdia', 'hdlr').body.toString('latin1', 8, 12)).toBe('soun');
    // Timescales: video 90 kHz, audio its sample rate.
    expect(find(video!.children, 'mdia', 'mdhd').body.readUInt32BE(12)).toBe(90000);
    expect(find(audio!.children, 'mdia', 'mdhd').body.readUInt32BE(12)).toBe(44100);

    const stsd = find(video!.children, 'mdia', 'minf', 'stbl', 'stsd');
    const avc1 = boxes(stsd.body, 0, 8);
    expect(avc1[0]!.type).toBe('avc1');
    // width, height from the SPS, then the avcC record exactly as the sequence header had it.
    expect(avc1[0]!.body.readUInt16BE(24)).toBe(320);
    expect(avc1[0]!.body.readUInt16BE(26)).toBe(240);
    const avcC = boxes(avc1[0]!.body, 0, 78);
    expect(avcC[0]!.type).toBe('avcC');
    expect(avcC[0]!.body.equals(AVCC)).toBe(true);

    const mp4a = boxes(find(audio!.children, 'mdia', 'minf', 'stbl', 'stsd').body, 0, 8)[0]!;
    expect(mp4a.type).toBe('mp4a');
    expect(mp4a.body.readUInt16BE(16)).toBe(2); // channels
    expect(mp4a.body.readUInt32BE(24) >>> 16).toBe(44100);
    const esds = boxes(mp4a.body, 0, 28)[0]!;
    expect(esds.type).toBe('esds');
    // ES_Descriptor (3) > DecoderConfigDescriptor (4): AAC (0x40), audio stream; DSI (5) = the ASC.
    expect(esds.body[4]).toBe(0x03);
    const dcd = esds.body.indexOf(Buffer.from([0x04]), 5);
    expect(esds.body[dcd + 2]).toBe(0x40);
    expect(esds.body[dcd + 3]).toBe(0x15);
    expect(esds.body.includes(Buffer.from([0x05, 0x02, 0x12, 0x10]))).toBe(true);

    const trex = all(find(moov, 'mvex').children, 'trex');
    expect(trex.map((t) => t.body.readUInt32BE(4))).toEqual([1, 2]);
  });

  it('makes one fragment per GOP, starting with a sync sample, with data offsets into its mdat', () => {
    const file = feed(new Fmp4Writer(), 4, 1);
    const top = boxes(file);
    const moofs = all(top, 'moof');
    expect(moofs.length).toBe(4);
    let videoSamples = 0;
    let audioSamples = 0;
    let videoTime = 0;
    moofs.forEach((moof, i) => {
      const seq = find(moof.children, 'mfhd').body.readUInt32BE(4);
      expect(seq).toBe(i + 1);
      const mdat = top[top.indexOf(moof) + 1]!;
      expect(mdat.type).toBe('mdat');
      for (const traf of all(moof.children, 'traf')) {
        const tfhd = find(traf.children, 'tfhd');
        expect(tfhd.body.readUInt32BE(0) & 0xffffff).toBe(0x020000); // default-base-is-moof
        const id = tfhd.body.readUInt32BE(4);
        const tfdt = find(traf.children, 'tfdt');
        expect(tfdt.body[0]).toBe(1);
        const base = Number(tfdt.body.readBigUInt64BE(4));
        const r = trun(find(traf.children, 'trun'));
        // Sample data lies inside this fragment's mdat.
        const start = moof.offset + r.dataOffset;
        const bytes = r.samples.reduce((n, s) => n + s.size, 0);
        expect(start).toBeGreaterThanOrEqual(mdat.offset + 8);
        expect(start + bytes).toBeLessThanOrEqual(mdat.offset + mdat.size);
        if (id === 1) {
          expect(base).toBe(videoTime);
          expect(r.samples[0]!.flags).toBe(0x02000000); // sync
          expect(r.samples.slice(1).every((s) => s.flags === 0x01010000)).toBe(true);
          expect(r.samples.every((s) => s.duration === 3600)).toBe(true); // 40 ms at 90 kHz
          expect(r.samples.every((s) => s.size === 104)).toBe(true); // 4-byte length + 100-byte NAL
          expect(file[start + 4]).toBe(0x65);
          videoSamples += r.count;
          videoTime += r.samples.reduce((n, s) => n + s.duration, 0);
        } else {
          // 1024 samples a frame, give or take the ms rounding of FLV timestamps.
          for (const s of r.samples) expect(Math.abs(s.duration - 1024)).toBeLessThanOrEqual(45);
          audioSamples += r.count;
        }
      }
    });
    expect(videoSamples).toBe(100);
    expect(audioSamples).toBe(Math.ceil((4 * 44100) / 1024));
  });

  it('patches the durations of mvhd, tkhd and mehd at the end', () => {
    const file = feed(new Fmp4Writer(), 3);
    const moov = find(boxes(file), 'moov').children;
    const mvhd = find(moov, 'mvhd');
    expect(mvhd.body.readUInt32BE(12)).toBe(1000);
    const duration = mvhd.body.readUInt32BE(16);
    expect(duration).toBeGreaterThanOrEqual(3000);
    expect(duration).toBeLessThan(3050);
    expect(find(moov, 'mvex', 'mehd').body.readUInt32BE(4)).toBe(duration);
    const [v, a] = all(moov, 'trak').map((t) => find(t.children, 'tkhd').body.readUInt32BE(20));
    expect(v).toBe(3000); // 75 frames of 40 ms
    expect(a).toBe(duration);
  });

  it('writes composition offsets, signed (trun version 1) only when one is negative', () => {
    const w = new Fmp4Writer();
    w.writeVideo(0, AVC_SH);
    w.writeVideo(0, avcFrame(true, 80));
    w.writeVideo(40, avcFrame(false, 120));
    w.writeVideo(80, avcFrame(false, 0));
    const fin = w.finish();
    const file = Buffer.concat([...w.take(), ...fin.parts]);
    const t = find(boxes(file), 'moof', 'traf', 'trun');
    expect(t.body[0]).toBe(0);
    expect(trun(t).samples.map((s) => s.cto)).toEqual([80 * 90, 120 * 90, 0]);

    const n = new Fmp4Writer();
    n.writeVideo(0, AVC_SH);
    const neg = avcFrame(true, 0);
    neg.writeUIntBE(0xffffd8, 2, 3); // -40 ms as SI24
    n.writeVideo(0, neg);
    const nf = n.finish();
    const t1 = find(boxes(Buffer.concat(nf.parts)), 'moof', 'traf', 'trun');
    expect(t1.body[0]).toBe(1);
    expect(trun(t1).samples[0]!.cto).toBe(-40 * 90);
  });

  it('takes HEVC (legacy codec 12 and enhanced-RTMP hvc1) as an hvc1 track with the hvcC as sent', () => {
    const hvcc = Buffer.from('0101600000009000000000005df000fcfdf8f800000f03200001001840010c01ffff016000000300900000030000030078959809', 'hex');
    for (const sh of [
      Buffer.concat([Buffer.from([0x1c, 0, 0, 0, 0]), hvcc]),
      Buffer.concat([Buffer.from([0x90]), Buffer.from('hvc1', 'latin1'), hvcc]),
    ]) {
      const w = new Fmp4Writer();
      w.setVideoSize(1280, 720);
      w.writeVideo(0, sh);
      // A keyframe, then an inter frame: legacy (codec 12, with a composition time) or CodedFramesX (without).
      const legacy = sh[0] === 0x1c;
      const frame = (key: boolean): Buffer =>
        legacy
          ? Buffer.concat([Buffer.from([key ? 0x1c : 0x2c, 1, 0, 0, 0]), Buffer.alloc(20, 1)])
          : Buffer.concat([Buffer.from([key ? 0x93 : 0xa3]), Buffer.from('hvc1', 'latin1'), Buffer.alloc(20, 1)]);
      w.writeVideo(0, frame(true));
      w.writeVideo(40, frame(false));
      const fin = w.finish();
      const top = boxes(Buffer.concat(fin.parts));
      const entry = boxes(find(top, 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd').body, 0, 8)[0]!;
      expect(entry.type).toBe('hvc1');
      expect(entry.body.readUInt16BE(24)).toBe(1280);
      const cfg = boxes(entry.body, 0, 78)[0]!;
      expect(cfg.type).toBe('hvcC');
      expect(cfg.body.equals(hvcc)).toBe(true);
      expect(trun(find(top, 'moof', 'traf', 'trun')).samples.map((s) => s.size)).toEqual([20, 20]);
    }
  });

  it('drops frames of a track it has no sequence header for, and keeps the tracks of the init segment', () => {
    const w = new Fmp4Writer();
    w.writeVideo(0, avcFrame(true, 0)); // before any sequence header
    expect(w.droppedFrames).toBe(1);
    w.writeVideo(0, AVC_SH);
    w.writeVideo(0, avcFrame(true, 0));
    w.writeVideo(1000, avcFrame(true, 0)); // closes the first fragment: the init segment is out
    w.writeAudio(1000, AAC_SH); // too late for this file
    w.writeAudio(1010, aacFrame());
    expect(w.droppedFrames).toBe(2);
    const fin = w.finish();
    const top = boxes(Buffer.concat([...w.take(), ...fin.parts]));
    expect(all(find(top, 'moov').children, 'trak')).toHaveLength(1);
  });
});

describe('Fmp4Writer files read by ffprobe', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-fmp4-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function remux(kind: FixtureKind): Promise<{ file: Buffer; flv: ReturnType<typeof parseFlv>; durationMs: number }> {
    const buf = await readFile(await testMedia(kind));
    const flv = parseFlv(buf);
    const w = new Fmp4Writer();
    const out: Buffer[] = [];
    for (const t of flv.tags) {
      const body = buf.subarray(t.offset + 11, t.offset + 11 + t.size);
      if (t.typeId === 9) w.writeVideo(t.timestamp, body);
      else if (t.typeId === 8) w.writeAudio(t.timestamp, body);
      out.push(...w.take());
    }
    const fin = w.finish();
    const file = Buffer.concat([...out, ...fin.parts]);
    for (const p of fin.patches) p.bytes.copy(file, p.offset);
    return { file, flv, durationMs: fin.durationMs };
  }

  async function ffprobe(file: string, ...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run('ffprobe', ['-v', 'error', ...args, '-of', 'json', file]);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  for (const kind of ['h264-aac', 'h264-bframes', 'aac-only', 'h264-only'] as const) {
    it(`remuxes ${kind}: both tracks, the duration, and the FLV's timestamps`, async () => {
      const { file, flv } = await remux(kind);
      const out = path.join(dir, `${kind}.mp4`);
      await writeFile(out, file);
      const info = (await ffprobe(out, '-show_streams', '-show_format')) as { streams: { codec_name: string; width?: number }[]; format: { duration: string } };
      const hasVideo = kind !== 'aac-only';
      const hasAudio = kind !== 'h264-only';
      expect(info.streams.map((s) => s.codec_name).sort()).toEqual([...(hasAudio ? ['aac'] : []), ...(hasVideo ? ['h264'] : [])]);
      if (hasVideo) expect(info.streams.find((s) => s.codec_name === 'h264')!.width).toBe(320);
      expect(Number(info.format.duration)).toBeGreaterThan(9.9);
      expect(Number(info.format.duration)).toBeLessThan(10.2);
      if (hasVideo) {
        // Every video frame, with the FLV's dts and pts (ms), in order.
        const pk = (await ffprobe(out, '-select_streams', 'v', '-show_entries', 'packet=pts_time,dts_time,flags')) as { packets: { pts_time: string; dts_time: string; flags: string }[] };
        const frames = flv.tags.filter((t) => t.type === 'video' && !t.isSequenceHeader && t.avcPacketType === 1);
        expect(pk.packets.length).toBe(frames.length);
        pk.packets.forEach((p, i) => {
          expect(Math.round(Number(p.dts_time) * 1000)).toBe(frames[i]!.timestamp);
          expect(Math.round(Number(p.pts_time) * 1000)).toBe(frames[i]!.timestamp + frames[i]!.compositionTime!);
          expect(p.flags.startsWith('K')).toBe(frames[i]!.keyframe === true);
        });
      }
      // Decodes without an error.
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-']);
      expect(stderr).toBe('');
    });
  }

  it('leaves a file cut short (a crash) readable up to its last whole fragment', async () => {
    const { file } = await remux('h264-aac');
    const out = path.join(dir, 'cut.mp4');
    await writeFile(out, file.subarray(0, Math.floor(file.length * 0.6)));
    const info = (await ffprobe(out, '-show_format')) as { format: { duration: string } };
    expect(Number(info.format.duration)).toBeGreaterThan(4);
    const pk = (await ffprobe(out, '-select_streams', 'v', '-show_entries', 'packet=dts_time')) as { packets: unknown[] };
    expect(pk.packets.length).toBeGreaterThan(100);
  });
});
