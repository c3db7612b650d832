/**
 * The native MPEG-TS muxer: byte-level checks of packets, tables, PES headers, ADTS and the
 * NALU rewriting, then whole FLV fixtures muxed to .ts files that ffprobe must read back
 * with every frame and continuous timestamps.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsMuxer } from '../../../src/native/index.js';
import { testMedia, type FixtureKind } from '../../support/fixtures.js';
import { isAudioFrame, isVideoFrame, parseFlv } from '../../support/flv.js';

// ---- a small TS reader (the test's own, not the muxer's) ----

interface TsPacket {
  pid: number;
  pusi: boolean;
  cc: number;
  /** Adaptation field including its length byte (empty when absent). */
  af: Buffer;
  payload: Buffer;
}

function tsPackets(buf: Buffer): TsPacket[] {
  expect(buf.length % 188).toBe(0);
  const out: TsPacket[] = [];
  for (let o = 0; o < buf.length; o += 188) {
    const p = buf.subarray(o, o + 188);
    expect(p[0]).toBe(0x47);
    const afc = (p[3]! >> 4) & 3;
    let pos = 4;
    let af: Buffer = Buffer.alloc(0);
    if (afc & 2) {
      af = p.subarray(4, 5 + p[4]!);
      pos = 5 + p[4]!;
    }
    out.push({
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      pusi: (p[1]! & 0x40) !== 0,
      cc: p[3]! & 0x0f,
      af,
      payload: afc & 1 ? p.subarray(pos) : Buffer.alloc(0),
    });
  }
  return out;
}

function crc32Mpeg(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

/** The section a PSI packet carries (after the pointer field), CRC checked. */
function section(p: TsPacket): Buffer {
  expect(p.pusi).toBe(true);
  const s = p.payload.subarray(1 + p.payload[0]!);
  const len = ((s[1]! & 0x0f) << 8) | s[2]!;
  const whole = s.subarray(0, 3 + len);
  expect(crc32Mpeg(whole.subarray(0, whole.length - 4))).toBe(whole.readUInt32BE(whole.length - 4));
  return whole;
}

interface Pmt {
  pcrPid: number;
  version: number;
  streams: { type: number; pid: number }[];
}

function parsePmt(s: Buffer): Pmt {
  expect(s[0]).toBe(0x02);
  const end = s.length - 4;
  const infoLen = s.readUInt16BE(10) & 0x0fff;
  const streams: { type: number; pid: number }[] = [];
  for (let o = 12 + infoLen; o < end; ) {
    streams.push({ type: s[o]!, pid: s.readUInt16BE(o + 1) & 0x1fff });
    o += 5 + (s.readUInt16BE(o + 3) & 0x0fff);
  }
  return { pcrPid: s.readUInt16BE(8) & 0x1fff, version: (s[5]! >> 1) & 0x1f, streams };
}

/** Whole PES packets of `pid`, reassembled. */
function pesOf(pkts: TsPacket[], pid: number): Buffer[] {
  const out: Buffer[][] = [];
  for (const p of pkts) {
    if (p.pid !== pid) continue;
    if (p.pusi) out.push([]);
    out[out.length - 1]!.push(p.payload);
  }
  return out.map((parts) => Buffer.concat(parts));
}

interface Pes {
  streamId: number;
  length: number;
  pts: number;
  dts: number | undefined;
  data: Buffer;
}

function readTs(b: Buffer): number {
  return (((b[0]! >> 1) & 7) * 2 ** 30) + (b[1]! << 22) + ((b[2]! >> 1) << 15) + (b[3]! << 7) + (b[4]! >> 1);
}

function parsePes(b: Buffer): Pes {
  expect(b.subarray(0, 3).toString('hex')).toBe('000001');
  const flags = b[7]!;
  const hdr = 9 + b[8]!;
  return {
    streamId: b[3]!,
    length: b.readUInt16BE(4),
    pts: readTs(b.subarray(9)),
    dts: flags & 0x40 ? readTs(b.subarray(14)) : undefined,
    data: b.subarray(hdr),
  };
}

// ---- FLV tag bodies ----

const SPS = Buffer.from('6742c01eda0280bfe5c0440000030004000003032c3c58b8', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');
const AUD = Buffer.from('00000001 09f0'.replace(' ', ''), 'hex');
const SC = Buffer.from('00000001', 'hex');

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function si24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n < 0 ? n + 0x1000000 : n, 0, 3);
  return b;
}

function avcSequenceHeader(): Buffer {
  const record = Buffer.concat([
    Buffer.from([1, 0x42, 0xc0, 0x1e, 0xff, 0xe1]), u16(SPS.length), SPS, Buffer.from([1]), u16(PPS.length), PPS,
  ]);
  return Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), record]);
}

/** An AVC frame of length-prefixed (4-byte) NALUs. */
function avcFrame(key: boolean, cts: number, nalus: Buffer[]): Buffer {
  return Buffer.concat([
    Buffer.from([key ? 0x17 : 0x27, 1]), si24(cts), ...nalus.flatMap((n) => [u32(n.length), n]),
  ]);
}

const AAC_LC_44K_STEREO = Buffer.from([0x12, 0x10]);
const aacHeader = (asc: Buffer): Buffer => Buffer.concat([Buffer.from([0xaf, 0]), asc]);
const aacFrame = (raw: Buffer): Buffer => Buffer.concat([Buffer.from([0xaf, 1]), raw]);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('TsMuxer: bytes', () => {
  it('writes PAT and PMT with correct CRCs, PIDs and stream types', () => {
    const m = new TsMuxer();
    expect(m.muxVideo(0, avcSequenceHeader()).length).toBe(0);
    expect(m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO)).length).toBe(0);
    const pkts = tsPackets(m.startSegment());
    expect(pkts.map((p) => p.pid)).toEqual([0, 0x1001]);
    const pat = section(pkts[0]!);
    expect(pat[0]).toBe(0x00);
    expect(pat.readUInt16BE(8)).toBe(1); // program_number
    expect(pat.readUInt16BE(10) & 0x1fff).toBe(0x1001);
    const pmt = parsePmt(section(pkts[1]!));
    expect(pmt.pcrPid).toBe(0x100);
    expect(pmt.streams).toEqual([
      { type: 0x1b, pid: 0x100 },
      { type: 0x0f, pid: 0x101 },
    ]);
    // Padding after the section is 0xff.
    const s = pkts[0]!.payload;
    expect([...s.subarray(1 + pat.length)].every((b) => b === 0xff)).toBe(true);
  });

  it('lists only audio for an audio-only stream and puts the PCR on the audio PID', () => {
    const m = new TsMuxer();
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    const pmt = parsePmt(section(tsPackets(m.startSegment())[1]!));
    expect(pmt.streams).toEqual([{ type: 0x0f, pid: 0x101 }]);
    expect(pmt.pcrPid).toBe(0x101);
    const pkts = tsPackets(m.muxAudio(40, aacFrame(Buffer.alloc(10, 0x21))));
    expect(pkts).toHaveLength(1);
    expect(pkts[0]!.pid).toBe(0x101);
    expect(pkts[0]!.af[1]! & 0x10).toBe(0x10); // PCR_flag
    // PCR base = 40 ms * 90, 6 reserved bits set, extension 0.
    const af = pkts[0]!.af;
    const base = af.readUInt32BE(2) * 2 + (af[6]! >> 7);
    expect(base).toBe(3600);
    expect(af[6]! & 0x7e).toBe(0x7e);
  });

  it('writes the PES header PTS bytes for known values, including past the 33-bit wrap', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    m.startSegment();
    const pes1 = pesOf(tsPackets(m.muxAudio(1000, aacFrame(Buffer.alloc(10)))), 0x101)[0]!;
    expect(pes1.subarray(0, 14).toString('hex')).toBe('000001c0' + '0019' + '80' + '80' + '05' + '210005bf21');
    // 95443718 ms * 90 = 2^33 + 28.
    const pes2 = pesOf(tsPackets(m.muxAudio(95443718, aacFrame(Buffer.alloc(10)))), 0x101)[0]!;
    expect(pes2.subarray(9, 14).toString('hex')).toBe('2100010039');
    expect(parsePes(pes2).pts).toBe(28);
  });

  it('writes PTS and DTS for a frame with a composition time, wrapping both', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    const pes = parsePes(pesOf(tsPackets(m.muxVideo(1000, avcFrame(false, 80, [Buffer.from([0x41, 1, 2, 3])]))), 0x100)[0]!);
    expect(pes.streamId).toBe(0xe0);
    expect(pes.pts).toBe(1080 * 90);
    expect(pes.dts).toBe(1000 * 90);
    const raw = pesOf(tsPackets(m.muxVideo(1000, avcFrame(false, 80, [Buffer.from([0x41, 1])]))), 0x100)[0]!;
    expect(raw[7]).toBe(0xc0);
    expect(raw[8]).toBe(10);
    expect(raw[9]! >> 4).toBe(3); // '0011' PTS prefix
    expect(raw[14]! >> 4).toBe(1); // '0001' DTS prefix
    // DTS just below the wrap, PTS just past it.
    const w = parsePes(pesOf(tsPackets(m.muxVideo(95443717, avcFrame(false, 1, [Buffer.from([0x41, 1])]))), 0x100)[0]!);
    expect(w.dts).toBe(95443717 * 90); // 8589934530 < 2^33
    expect(w.pts).toBe(95443718 * 90 - 2 ** 33);
  });

  it('starts with an AUD and puts SPS/PPS before every IDR, not before other pictures', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    const idr = Buffer.concat([Buffer.from([0x65, 0x88]), Buffer.alloc(30, 7)]);
    const pkts = tsPackets(m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x09, 0xf0]), Buffer.from([0x06, 5, 1, 0]), idr])));
    const es = parsePes(pesOf(pkts, 0x100)[0]!).data;
    // The publisher's AUD is replaced by ours.
    expect(es.toString('hex')).toBe(
      Buffer.concat([AUD, SC, SPS, SC, PPS, SC, Buffer.from([0x06, 5, 1, 0]), SC, idr]).toString('hex'),
    );
    // Random access indicator on the keyframe's first packet (with the PCR).
    expect(pkts.find((q) => q.pid === 0x100)!.af[1]! & 0x50).toBe(0x50);
    const p = Buffer.from([0x41, 0x9a, 1, 2, 3]);
    const es2 = parsePes(pesOf(tsPackets(m.muxVideo(40, avcFrame(false, 0, [p]))), 0x100)[0]!).data;
    expect(es2.toString('hex')).toBe(Buffer.concat([AUD, SC, p]).toString('hex'));
  });

  it('counts continuity per PID and stuffs the last packet of a PES with an adaptation field', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    const all: TsPacket[] = tsPackets(m.startSegment());
    for (let i = 0; i < 20; i++) {
      const big = Buffer.alloc(1000 + i * 37, 0x55);
      big[0] = 0x41;
      all.push(...tsPackets(m.muxVideo(i * 40, avcFrame(false, 0, [big]))));
      all.push(...tsPackets(m.muxAudio(i * 23, aacFrame(Buffer.alloc(200 + i, 0x11)))));
      if (i % 7 === 6) all.push(...tsPackets(m.startSegment()));
    }
    const last = new Map<number, number>();
    for (const p of all) {
      const prev = last.get(p.pid);
      if (prev !== undefined) expect(p.cc).toBe((prev + 1) & 15);
      last.set(p.pid, p.cc);
    }
    expect([...last.keys()].sort((a, b) => a - b)).toEqual([0, 0x100, 0x101, 0x1001]);
    // Every PES is exactly its header + ES: stuffing is in adaptation fields, never in the payload.
    for (const pes of pesOf(all, 0x101)) {
      const p = parsePes(pes);
      expect(p.length).toBe(pes.length - 6);
    }
    for (const p of all) {
      expect(p.af.length + p.payload.length).toBe(184);
      if (p.af.length > 2) {
        const flags = p.af[1]!;
        const fixed = 2 + (flags & 0x10 ? 6 : 0);
        expect([...p.af.subarray(fixed)].every((b) => b === 0xff)).toBe(true);
      }
    }
  });

  it('writes adaptation fields of 1 and 2 bytes when the PES leaves 1 or 2 bytes free', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader()); // the PCR goes on video, so audio packets carry none
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    m.startSegment();
    // PES = 14 (header) + 7 (ADTS) + n.
    const one = tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(183 - 21))));
    expect(one).toHaveLength(1);
    expect(one[0]!.af.toString('hex')).toBe('00');
    const two = tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(182 - 21))));
    expect(two[0]!.af.toString('hex')).toBe('0100');
    const full = tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(184 - 21))));
    expect(full[0]!.af.length).toBe(0);
    const small = tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(10))));
    expect(small[0]!.af[0]).toBe(184 - 31 - 1);
    expect(small[0]!.af[1]).toBe(0);
    // Two packets: 184 + 1 bytes of PES -> the second holds 1 byte and 182 bytes of stuffing.
    const split = tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(185 - 21))));
    expect(split).toHaveLength(2);
    expect(split[0]!.af.length).toBe(0);
    expect(split[1]!.af.length).toBe(183);
    expect(split[1]!.af[0]).toBe(182);
    expect(split[1]!.payload.length).toBe(1);
  });

  it('writes ADTS headers from the AudioSpecificConfig', () => {
    const m = new TsMuxer();
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO)); // AAC LC, 44.1 kHz (index 4), 2 channels
    const es = parsePes(pesOf(tsPackets(m.muxAudio(0, aacFrame(Buffer.alloc(10, 0xab)))), 0x101)[0]!).data;
    expect(es.subarray(0, 7).toString('hex')).toBe('fff15080023ffc');
    expect(es.length).toBe(17);
    // HE-AAC with explicit SBR signalling (object type 5, core 24 kHz mono, extension 48 kHz,
    // then AAC LC): ADTS says AAC LC at the core rate.
    const he = new TsMuxer();
    he.muxAudio(0, aacHeader(Buffer.from([0x2b, 0x09, 0x88, 0x00])));
    const es2 = parsePes(pesOf(tsPackets(he.muxAudio(0, aacFrame(Buffer.alloc(100)))), 0x101)[0]!).data;
    expect(es2[2]).toBe((1 << 6) | (6 << 2) | 0);
    expect(es2[3]! >> 6).toBe(1);
    expect(((es2[3]! & 3) << 11) | (es2[4]! << 3) | (es2[5]! >> 5)).toBe(107);
  });

  it('muxes HEVC (legacy codec id 12 and enhanced RTMP hvc1) with VPS/SPS/PPS before IRAP pictures', () => {
    const vps = Buffer.from([0x40, 0x01, 0x0c]);
    const sps = Buffer.from([0x42, 0x01, 0x01]);
    const pps = Buffer.from([0x44, 0x01, 0xc1]);
    const fixed = Buffer.alloc(22);
    fixed[0] = 1;
    fixed[21] = 0x0f; // lengthSizeMinusOne 3
    const arr = (type: number, nalu: Buffer): Buffer => Buffer.concat([Buffer.from([0x80 | type]), u16(1), u16(nalu.length), nalu]);
    const record = Buffer.concat([fixed, Buffer.from([3]), arr(32, vps), arr(33, sps), arr(34, pps)]);
    const idr = Buffer.from([0x26, 0x01, 0xaf, 0x10]);
    const trail = Buffer.from([0x02, 0x01, 0xd0]);
    const hevcAud = Buffer.from('0000000146 0150'.replace(' ', ''), 'hex');
    for (const enhanced of [false, true]) {
      const m = new TsMuxer();
      const seq = enhanced
        ? Buffer.concat([Buffer.from([0x90]), Buffer.from('hvc1'), record])
        : Buffer.concat([Buffer.from([0x1c, 0, 0, 0, 0]), record]);
      expect(m.muxVideo(0, seq).length).toBe(0);
      expect(parsePmt(section(tsPackets(m.startSegment())[1]!)).streams).toEqual([{ type: 0x24, pid: 0x100 }]);
      const key = enhanced
        ? Buffer.concat([Buffer.from([0x91]), Buffer.from('hvc1'), si24(40), u32(idr.length), idr])
        : Buffer.concat([Buffer.from([0x1c, 1]), si24(40), u32(idr.length), idr]);
      const pes = parsePes(pesOf(tsPackets(m.muxVideo(0, key)), 0x100)[0]!);
      expect(pes.pts - pes.dts!).toBe(40 * 90);
      expect(pes.data.toString('hex')).toBe(Buffer.concat([hevcAud, SC, vps, SC, sps, SC, pps, SC, idr]).toString('hex'));
      const inter = enhanced
        ? Buffer.concat([Buffer.from([0xa3]), Buffer.from('hvc1'), u32(trail.length), trail]) // CodedFramesX
        : Buffer.concat([Buffer.from([0x2c, 1]), si24(0), u32(trail.length), trail]);
      const pes2 = parsePes(pesOf(tsPackets(m.muxVideo(40, inter)), 0x100)[0]!);
      expect(pes2.dts).toBeUndefined();
      expect(pes2.data.toString('hex')).toBe(Buffer.concat([hevcAud, SC, trail]).toString('hex'));
    }
  });

  it('muxes MP3 as is with stream type 0x03 (MPEG-1) or 0x04 (MPEG-2)', () => {
    const m = new TsMuxer();
    const frame = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413, 0x33)]);
    const pkts = tsPackets(m.muxAudio(0, Buffer.concat([Buffer.from([0x2f]), frame])));
    // No startSegment: the first frame writes the tables itself.
    expect(pkts.slice(0, 2).map((p) => p.pid)).toEqual([0, 0x1001]);
    expect(parsePmt(section(pkts[1]!)).streams).toEqual([{ type: 0x03, pid: 0x101 }]);
    expect(parsePes(pesOf(pkts, 0x101)[0]!).data.equals(frame)).toBe(true);
    const m2 = new TsMuxer();
    const lsf = Buffer.concat([Buffer.from([0xff, 0xf3, 0x64, 0xc4]), Buffer.alloc(100)]);
    m2.muxAudio(0, Buffer.concat([Buffer.from([0x2e]), lsf]));
    expect(parsePmt(section(tsPackets(m2.startSegment())[1]!)).streams).toEqual([{ type: 0x04, pid: 0x101 }]);
  });

  it('rejects malformed input with ERR_TS_INPUT and stays usable', () => {
    const m = new TsMuxer();
    expect(codeOf(() => m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x65, 1])])))).toBe('ERR_TS_INPUT'); // before seq header
    m.muxVideo(0, avcSequenceHeader());
    const truncated = Buffer.concat([Buffer.from([0x17, 1, 0, 0, 0]), u32(100), Buffer.from([0x65, 1, 2])]);
    expect(codeOf(() => m.muxVideo(0, truncated))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxVideo(0, Buffer.from([0x17, 1, 0, 0, 0, 0, 0])))).toBe('ERR_TS_INPUT'); // short length field
    expect(codeOf(() => m.muxVideo(0, Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42])))).toBe('ERR_TS_INPUT'); // short record
    expect(codeOf(() => m.muxVideo(0, Buffer.from([0x17, 0, 0])))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxVideo(0, Buffer.from([])))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxVideo(0, Buffer.from([0x12, 0, 0, 0, 0])))).toBe('ERR_TS_INPUT'); // Sorenson H.263
    const badSps = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1]), u16(50), SPS]);
    expect(codeOf(() => m.muxVideo(0, badSps))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxAudio(0, aacFrame(Buffer.alloc(4))))).toBe('ERR_TS_INPUT'); // before ASC
    expect(codeOf(() => m.muxAudio(0, aacHeader(Buffer.from([0x12]))))).toBe('ERR_TS_INPUT'); // truncated
    expect(codeOf(() => m.muxAudio(0, aacHeader(Buffer.from([0x02, 0x10]))))).toBe('ERR_TS_INPUT'); // aot 0
    expect(codeOf(() => m.muxAudio(0, aacHeader(Buffer.from([0x17, 0x80, 0, 0, 0x10]))))).toBe('ERR_TS_INPUT'); // sfi 15
    expect(codeOf(() => m.muxAudio(0, aacHeader(Buffer.from([0x12, 0x00]))))).toBe('ERR_TS_INPUT'); // 0 channels
    expect(codeOf(() => m.muxAudio(0, aacHeader(Buffer.alloc(0))))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxAudio(0, Buffer.from([0x3f, 1, 2])))).toBe('ERR_TS_INPUT'); // PCM
    expect(codeOf(() => m.muxAudio(0, aacFrame(Buffer.alloc(9000))))).toBe('ERR_TS_INPUT');
    expect(() => m.muxVideo(1.5, avcSequenceHeader())).toThrow(TypeError);
    // Still usable: the good sequence header is kept.
    expect(tsPackets(m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x65, 1])]))).length).toBeGreaterThan(0);
  });

  it('reset() forgets sequence headers and counters', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x65, 1])]));
    m.reset();
    expect(codeOf(() => m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x65, 1])])))).toBe('ERR_TS_INPUT');
    const pkts = tsPackets(m.startSegment());
    expect(pkts.map((p) => p.cc)).toEqual([0, 0]);
    expect(parsePmt(section(pkts[1]!)).streams).toEqual([]);
  });
});

// ---- output memory: views of a slab the muxer writes into ----

describe('TsMuxer: returned Buffers', () => {
  /** Frames of varied sizes (video with a keyframe every 25, AAC between) with the headers first. */
  function script(count: number, seed: number): { video: boolean; ts: number; body: Buffer; segment: boolean }[] {
    const out: { video: boolean; ts: number; body: Buffer; segment: boolean }[] = [
      { video: true, ts: 0, body: avcSequenceHeader(), segment: false },
      { video: false, ts: 0, body: aacHeader(AAC_LC_44K_STEREO), segment: false },
    ];
    for (let i = 0; i < count; i++) {
      const key = i % 25 === 0;
      const nalu = Buffer.alloc(500 + ((i * 7919 + seed) % 9000), (i + seed) & 0xff);
      nalu[0] = key ? 0x65 : 0x41;
      out.push({ video: true, ts: i * 40, body: avcFrame(key, (i % 3) * 40, [nalu]), segment: key });
      out.push({ video: false, ts: i * 40 + 3, body: aacFrame(Buffer.alloc(100 + ((i * 31 + seed) % 600), i & 0xff)), segment: false });
    }
    return out;
  }

  /** Each call's output: the view, and a copy taken right after the call. */
  function step(m: TsMuxer, f: ReturnType<typeof script>[number]): { view: Buffer; copy: Buffer }[] {
    const r: { view: Buffer; copy: Buffer }[] = [];
    if (f.segment) {
      const s = m.startSegment();
      r.push({ view: s, copy: Buffer.from(s) });
    }
    const v = f.video ? m.muxVideo(f.ts, f.body) : m.muxAudio(f.ts, f.body);
    r.push({ view: v, copy: Buffer.from(v) });
    return r;
  }

  it('hands out consecutive views of one slab whose bytes stay as written after later calls', () => {
    const frames = script(400, 1); // about 2.7 MB of TS: several slabs
    const m = new TsMuxer();
    const outs = frames.flatMap((f) => step(m, f)).filter((o) => o.view.length > 0);
    // Many frames in a row share one ArrayBuffer, back to back.
    let run = 1;
    let longest = 1;
    for (let i = 1; i < outs.length; i++) {
      const a = outs[i - 1]!.view;
      const b = outs[i]!.view;
      if (b.buffer === a.buffer) {
        expect(b.byteOffset).toBe(a.byteOffset + a.length);
        longest = Math.max(longest, ++run);
      } else {
        run = 1;
        expect(b.byteOffset).toBe(0); // a new slab starts at its beginning
      }
    }
    expect(longest).toBeGreaterThan(50);
    const slabs = new Set(outs.map((o) => o.view.buffer));
    expect(slabs.size).toBeGreaterThan(1);
    expect(slabs.size).toBeLessThan(outs.length / 50);
    // Nothing handed out was written again.
    for (const o of outs) expect(o.view.equals(o.copy)).toBe(true);
    // The same frames through a fresh muxer make the same bytes.
    const fresh = new TsMuxer();
    const again = Buffer.concat(frames.flatMap((f) => step(fresh, f)).map((o) => o.copy));
    expect(Buffer.concat(outs.map((o) => o.view)).equals(again)).toBe(true);
    // And they are a well-formed TS: continuity per PID across slab boundaries.
    const last = new Map<number, number>();
    for (const p of tsPackets(again)) {
      const prev = last.get(p.pid);
      if (prev !== undefined) expect(p.cc).toBe((prev + 1) & 15);
      last.set(p.pid, p.cc);
    }
  });

  it('gives a frame larger than a slab a Buffer of its own and goes on in the slab after it', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    const before = m.muxVideo(0, avcFrame(true, 0, [Buffer.from([0x65, 1, 2, 3])]));
    const big = Buffer.alloc(3 << 20, 0x77);
    big[0] = 0x41;
    const huge = m.muxVideo(40, avcFrame(false, 0, [big]));
    expect(huge.length).toBeGreaterThan(3 << 20);
    expect(huge.buffer).not.toBe(before.buffer);
    expect(huge.byteOffset).toBe(0);
    expect(huge.buffer.byteLength).toBe(huge.length);
    const after = m.muxVideo(80, avcFrame(false, 0, [Buffer.from([0x41, 9, 9])]));
    expect(after.buffer).toBe(before.buffer);
    expect(after.byteOffset).toBe(before.byteOffset + before.length);
    const pkts = tsPackets(huge);
    expect(pkts.length).toBe(huge.length / 188);
    const pes = parsePes(pesOf(pkts, 0x100)[0]!);
    expect(pes.length).toBe(0); // unbounded: longer than 65535
    expect(pes.data.equals(Buffer.concat([AUD, SC, big]))).toBe(true);
    const cc = [...tsPackets(before), ...pkts, ...tsPackets(after)].filter((p) => p.pid === 0x100).map((p) => p.cc);
    for (let i = 1; i < cc.length; i++) expect(cc[i]).toBe((cc[i - 1]! + 1) & 15);
  });

  it('leaves no bytes of a refused frame between the frames around it', () => {
    const m = new TsMuxer();
    m.muxVideo(0, avcSequenceHeader());
    m.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    const a = m.muxVideo(0, avcFrame(true, 0, [Buffer.alloc(3000, 0x65)]));
    // Refused after its first NALU was found good: the second runs past the end.
    const bad = Buffer.concat([avcFrame(false, 0, [Buffer.alloc(2000, 0x41)]), u32(5000), Buffer.alloc(10, 0x41)]);
    expect(codeOf(() => m.muxVideo(40, bad))).toBe('ERR_TS_INPUT');
    expect(codeOf(() => m.muxAudio(40, aacFrame(Buffer.alloc(9000))))).toBe('ERR_TS_INPUT');
    const b = m.muxAudio(41, aacFrame(Buffer.alloc(50, 0x21)));
    const c = m.muxVideo(80, avcFrame(false, 0, [Buffer.alloc(500, 0x41)]));
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + a.length);
    expect(c.byteOffset).toBe(b.byteOffset + b.length);
    // The same good frames without the refused ones: the same bytes.
    const ref = new TsMuxer();
    ref.muxVideo(0, avcSequenceHeader());
    ref.muxAudio(0, aacHeader(AAC_LC_44K_STEREO));
    const expected = Buffer.concat([
      Buffer.from(ref.muxVideo(0, avcFrame(true, 0, [Buffer.alloc(3000, 0x65)]))),
      Buffer.from(ref.muxAudio(41, aacFrame(Buffer.alloc(50, 0x21)))),
      Buffer.from(ref.muxVideo(80, avcFrame(false, 0, [Buffer.alloc(500, 0x41)]))),
    ]);
    const whole = Buffer.from(a.buffer, a.byteOffset, c.byteOffset + c.length - a.byteOffset);
    expect(whole.equals(expected)).toBe(true);
  });

  it('keeps two interleaved muxers apart', () => {
    const f1 = script(150, 3);
    const f2 = script(150, 11);
    const m1 = new TsMuxer();
    const m2 = new TsMuxer();
    const o1: { view: Buffer; copy: Buffer }[] = [];
    const o2: { view: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < Math.max(f1.length, f2.length); i++) {
      if (i < f1.length) o1.push(...step(m1, f1[i]!));
      if (i < f2.length) o2.push(...step(m2, f2[i]!));
    }
    const buffers1 = new Set(o1.filter((o) => o.view.length > 0).map((o) => o.view.buffer));
    const buffers2 = new Set(o2.filter((o) => o.view.length > 0).map((o) => o.view.buffer));
    for (const b of buffers1) expect(buffers2.has(b)).toBe(false);
    for (const o of [...o1, ...o2]) expect(o.view.equals(o.copy)).toBe(true);
    const alone = (frames: ReturnType<typeof script>): Buffer => {
      const m = new TsMuxer();
      return Buffer.concat(frames.flatMap((f) => step(m, f)).map((o) => o.copy));
    };
    expect(Buffer.concat(o1.map((o) => o.view)).equals(alone(f1))).toBe(true);
    expect(Buffer.concat(o2.map((o) => o.view)).equals(alone(f2))).toBe(true);
  });
});

// ---- end to end: FLV fixture -> .ts -> ffprobe ----

interface ProbePacket {
  codec_type: string;
  stream_index: number;
  pts: number;
  dts: number;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('TsMuxer: FLV fixtures through ffprobe', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-ts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function muxFixture(kind: FixtureKind) {
    const flvBuf = await readFile(await testMedia(kind));
    const flv = parseFlv(flvBuf);
    const m = new TsMuxer();
    const parts: Buffer[] = [m.startSegment()];
    for (const t of flv.tags) {
      const body = flvBuf.subarray(t.offset + 11, t.offset + 11 + t.size);
      if (t.type === 'video') {
        // A new segment at each keyframe after the first, as the segmenter will cut.
        if (isVideoFrame(t) && t.keyframe && t.timestamp > 0) parts.push(m.startSegment());
        parts.push(m.muxVideo(t.timestamp, body));
      } else if (t.type === 'audio') {
        parts.push(m.muxAudio(t.timestamp, body));
      }
    }
    const ts = Buffer.concat(parts);
    const file = path.join(dir, `${kind}.ts`);
    await writeFile(file, ts);
    const packets = JSON.parse(
      (await run('ffprobe', ['-v', 'error', '-show_packets', '-of', 'json', file])).stdout,
    ).packets as ProbePacket[];
    const streamsOut = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
    expect(streamsOut.stderr).toBe('');
    const streams = JSON.parse(streamsOut.stdout).streams as { codec_name: string; codec_type: string }[];
    return { flv, ts, packets, streams };
  }

  function checkTrack(packets: ProbePacket[], type: string, flvTimes: { dts: number; pts: number }[]): void {
    const ours = packets.filter((p) => p.codec_type === type);
    expect(ours.length).toBe(flvTimes.length);
    for (let i = 0; i < ours.length; i++) {
      expect(ours[i]!.dts).toBe(flvTimes[i]!.dts * 90);
      expect(ours[i]!.pts).toBe(flvTimes[i]!.pts * 90);
      if (i > 0) {
        const step = ours[i]!.dts - ours[i - 1]!.dts;
        expect(step).toBeGreaterThan(0);
        expect(step).toBeLessThanOrEqual(100 * 90);
      }
    }
  }

  it('h264-aac: h264 + aac, every frame, continuous timestamps', async () => {
    const { flv, packets, streams } = await muxFixture('h264-aac');
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const v = flv.tags.filter(isVideoFrame);
    const a = flv.tags.filter(isAudioFrame);
    checkTrack(packets, 'video', v.map((t) => ({ dts: t.timestamp, pts: t.timestamp + (t.compositionTime ?? 0) })));
    checkTrack(packets, 'audio', a.map((t) => ({ dts: t.timestamp, pts: t.timestamp })));
  });

  it('aac-only: an audio-only TS with the PCR on the audio PID', async () => {
    const { flv, ts, packets, streams } = await muxFixture('aac-only');
    expect(streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['audio:aac']);
    const a = flv.tags.filter(isAudioFrame);
    checkTrack(packets, 'audio', a.map((t) => ({ dts: t.timestamp, pts: t.timestamp })));
    const pkts = tsPackets(ts);
    const pmts = pkts.filter((p) => p.pid === 0x1001).map((p) => parsePmt(section(p)));
    expect(pmts[pmts.length - 1]!.pcrPid).toBe(0x101);
    const withPcr = pkts.filter((p) => p.af.length > 1 && (p.af[1]! & 0x10) !== 0);
    expect(withPcr.length).toBe(a.length);
    expect(withPcr.every((p) => p.pid === 0x101)).toBe(true);
  });

  it('h264-bframes: PTS differs from DTS by the composition times', async () => {
    const { flv, packets, streams } = await muxFixture('h264-bframes');
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const v = flv.tags.filter(isVideoFrame);
    expect(v.some((t) => (t.compositionTime ?? 0) !== 0)).toBe(true);
    checkTrack(packets, 'video', v.map((t) => ({ dts: t.timestamp, pts: t.timestamp + (t.compositionTime ?? 0) })));
    const video = packets.filter((p) => p.codec_type === 'video');
    expect(video.some((p) => p.pts !== p.dts)).toBe(true);
  });
});
