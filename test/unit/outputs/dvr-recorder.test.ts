/**
 * DvrRecorder with synthetic SharedMessages: the plans (session, segment, dvr_wait_keyframe),
 * where files start, time_jitter per file, the path template, the FLV header and metadata
 * with duration and filesize, MP4, and the atomic write (no file under its final name until
 * it is complete; the temporary name is not a .flv or .mp4).
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DvrConfig } from '../../../src/conf/config.js';
import { DvrRecorder, templateRoot, type DvrFileWritten } from '../../../src/outputs/dvr/dvr-recorder.js';
import { Amf0EcmaArray, encodeAmf0 } from '../../../src/protocol/rtmp/amf0.js';
import { MessageFlags, SharedMessage } from '../../../src/stream/shared-message.js';
import { analyzeTimestamps, isVideoFrame, parseFlv, type FlvFile } from '../../support/flv.js';

const ID = { vhost: '__defaultVhost__', app: 'live', stream: 'cam' };

// ---- synthetic messages, flagged as the Source flags them ----

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
const SPS = Buffer.from('6742c00dda0507ec0440000003004000000c83c50aa8', 'hex');
const PPS = Buffer.from('68ce0fc8', 'hex');
const avcSh = (level = 0x0d): Buffer =>
  Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, level, 0xff, 0xe1]), u16(SPS.length), SPS, Buffer.from([1]), u16(PPS.length), PPS]);
const avcFrame = (key: boolean): Buffer => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), u16(0), u16(30), Buffer.alloc(30, key ? 0x65 : 0x41)]);

const videoSh = (t: number, payload = avcSh()): SharedMessage => new SharedMessage(9, t, payload, MessageFlags.SequenceHeader);
const audioSh = (t: number): SharedMessage => new SharedMessage(8, t, Buffer.from([0xaf, 0, 0x12, 0x10]), MessageFlags.SequenceHeader);
const video = (t: number, key: boolean): SharedMessage =>
  new SharedMessage(9, t, avcFrame(key), key ? MessageFlags.Keyframe | MessageFlags.RandomAccess : 0);
const audio = (t: number, randomAccess = false): SharedMessage =>
  new SharedMessage(8, t, Buffer.concat([Buffer.from([0xaf, 1]), Buffer.alloc(20, 0x21)]), randomAccess ? MessageFlags.RandomAccess : 0);
const metadata = (t: number): SharedMessage =>
  new SharedMessage(18, t, encodeAmf0('onMetaData', new Amf0EcmaArray({ width: 320, height: 240, duration: 99, filesize: 1, encoder: 'test' })), MessageFlags.Metadata);

interface StreamOptions {
  from?: number;
  seconds: number;
  /** Keyframe interval, ms. */
  gopMs?: number;
  video?: boolean;
  audio?: boolean;
}

/** A publish: metadata and sequence headers, then 25 fps video and ~43 fps audio interleaved by time. */
function stream(o: StreamOptions): SharedMessage[] {
  const from = o.from ?? 0;
  const hasVideo = o.video ?? true;
  const hasAudio = o.audio ?? true;
  const gop = o.gopMs ?? 1000;
  const out: SharedMessage[] = [metadata(from)];
  if (hasVideo) out.push(videoSh(from));
  if (hasAudio) out.push(audioSh(from));
  const frames: SharedMessage[] = [];
  if (hasVideo) for (let t = 0; t < o.seconds * 1000; t += 40) frames.push(video(from + t, t % gop === 0));
  if (hasAudio) for (let i = 0; (i * 1024000) / 44100 < o.seconds * 1000; i++) frames.push(audio(from + Math.round((i * 1024000) / 44100), !hasVideo));
  frames.sort((a, b) => a.timestamp - b.timestamp || (a.isVideo ? -1 : 1));
  return [...out, ...frames];
}

// ---- running a recorder ----

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-dvr-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(c: Partial<DvrConfig>): DvrConfig {
  return {
    enabled: true,
    apply: ['all'],
    plan: 'session',
    path: path.join(dir, '[app]/[stream]-[seq].flv'),
    duration: 30,
    waitKeyframe: true,
    timeJitter: 'full',
    ...c,
  };
}

async function record(c: Partial<DvrConfig>, msgs: SharedMessage[], id = ID): Promise<{ files: DvrFileWritten[]; rec: DvrRecorder }> {
  const files: DvrFileWritten[] = [];
  const rec = new DvrRecorder(id, config(c), (f) => files.push(f));
  for (const m of msgs) {
    rec.enqueue(m);
    rec.flush();
  }
  rec.onUnpublish();
  await rec.settled();
  return { files, rec };
}

async function flv(file: string): Promise<{ buf: Buffer; flv: FlvFile }> {
  const buf = await readFile(file);
  return { buf, flv: parseFlv(buf) };
}

/** A number property of the file's onMetaData. */
function metaNumber(buf: Buffer, name: string): number {
  const key = Buffer.concat([u16(name.length), Buffer.from(name, 'latin1'), Buffer.from([0])]);
  const at = buf.indexOf(key, 13);
  expect(at).toBeGreaterThan(0);
  return buf.readDoubleBE(at + key.length);
}

/** Video frame timestamps of a file. */
const videoTimes = (f: FlvFile): number[] => f.tags.filter(isVideoFrame).map((t) => t.timestamp);

describe('DvrRecorder: plans', () => {
  it('session: one file from the first keyframe to unpublish, with metadata and sequence headers first', async () => {
    const { files } = await record({}, stream({ seconds: 10 }));
    expect(files).toHaveLength(1);
    expect(files[0]!.file).toBe(path.join(dir, 'live/cam-0.flv'));
    const { buf, flv: f } = await flv(files[0]!.file);
    expect(f.header).toMatchObject({ hasAudio: true, hasVideo: true });
    expect(f.truncated).toBe(false);
    expect(f.tags.slice(0, 3).map((t) => [t.type, t.scriptName ?? t.isSequenceHeader])).toEqual([
      ['script', 'onMetaData'],
      ['video', true],
      ['audio', true],
    ]);
    const r = analyzeTimestamps(f.tags);
    expect(r.firstVideoIsKeyframe).toBe(true);
    expect(r.videoFrames).toBe(250);
    expect(r.monotonic).toBe(true);
    expect(r.video.firstMs).toBe(0);
    expect(r.maxGapMs).toBeLessThanOrEqual(40);
    // duration (s) and filesize patched; the publisher's other fields kept, its own duration gone.
    expect(metaNumber(buf, 'duration')).toBeCloseTo(10, 1);
    expect(metaNumber(buf, 'filesize')).toBe(buf.length);
    expect(metaNumber(buf, 'width')).toBe(320);
    expect(buf.includes(Buffer.from('encoder'))).toBe(true);
    expect(files[0]!.durationMs).toBeGreaterThanOrEqual(10000);
    expect(files[0]!.durationMs).toBeLessThan(10050);
    expect(files[0]!.bytes).toBe(buf.length);
  });

  it('segment: a new file at the first keyframe once dvr_duration has passed, each a whole file from 0', async () => {
    const { files } = await record({ plan: 'segment', duration: 2.5 }, stream({ seconds: 10, gopMs: 1000 }));
    // Keyframes each second: cuts at 3 s, 6 s, 9 s.
    expect(files.map((f) => path.basename(f.file))).toEqual(['cam-0.flv', 'cam-1.flv', 'cam-2.flv', 'cam-3.flv']);
    expect(files.map((f) => Math.round(f.durationMs / 100) / 10)).toEqual([3, 3, 3, 1]);
    let frames = 0;
    for (const file of files) {
      const { buf, flv: f } = await flv(file.file);
      expect(f.tags[0]!.scriptName).toBe('onMetaData');
      expect(f.tags[1]!.isSequenceHeader && f.tags[1]!.type === 'video').toBe(true);
      const r = analyzeTimestamps(f.tags);
      expect(r.firstVideoIsKeyframe).toBe(true);
      expect(r.video.firstMs).toBe(0);
      expect(r.monotonic).toBe(true);
      expect(metaNumber(buf, 'duration')).toBeCloseTo(file.durationMs / 1000, 2);
      frames += r.videoFrames;
    }
    expect(frames).toBe(250); // none lost at the cuts
  });

  it('segment with dvr_wait_keyframe off: cuts at the first frame past dvr_duration, mid-GOP', async () => {
    const { files, rec } = await record({ plan: 'segment', duration: 3, waitKeyframe: false }, stream({ seconds: 10, gopMs: 2000, audio: false }));
    expect(files.map((f) => Math.round(f.durationMs / 100) / 10)).toEqual([3, 3, 3, 1]);
    const second = (await flv(files[1]!.file)).flv;
    const firstFrame = second.tags.find(isVideoFrame)!;
    expect(firstFrame.keyframe).toBe(false); // 3 s is not a keyframe with a 2 s GOP
    expect(rec.stats.skippedFrames).toBe(0);
    let frames = 0;
    for (const f of files) frames += videoTimes((await flv(f.file)).flv).length;
    expect(frames).toBe(250);
  });

  it('segment of a stream without video: cut at any audio frame', async () => {
    const { files } = await record({ plan: 'segment', duration: 2 }, stream({ seconds: 7, video: false }));
    expect(files).toHaveLength(4);
    for (const f of files.slice(0, 3)) expect(f.durationMs).toBeGreaterThanOrEqual(2000);
    for (const f of files.slice(0, 3)) expect(f.durationMs).toBeLessThan(2050);
    const first = (await flv(files[0]!.file)).flv;
    expect(first.header).toMatchObject({ hasAudio: true, hasVideo: false });
  });

  it('starts a file only at a keyframe: frames before the first one are skipped', async () => {
    const msgs = stream({ seconds: 4, gopMs: 2000 }).filter((m) => !(m.isVideo && m.isKeyframe && m.timestamp === 0));
    const { files, rec } = await record({}, msgs);
    const f = (await flv(files[0]!.file)).flv;
    const r = analyzeTimestamps(f.tags);
    expect(r.firstVideoIsKeyframe).toBe(true);
    expect(r.videoFrames).toBe(50); // from 2 s
    expect(rec.stats.skippedFrames).toBeGreaterThan(49); // 49 video frames and their audio
  });
});

describe('DvrRecorder: time_jitter per file', () => {
  const jump = (): SharedMessage[] => {
    // 3 s from 10 s, then the publisher's clock jumps 60 s ahead for 2 s more.
    const a = stream({ from: 10000, seconds: 3 });
    const b = stream({ from: 73000, seconds: 2 }).filter((m) => !m.isConfig);
    return [...a, ...b];
  };

  it('full: each file starts at 0 and its timestamps have no jump', async () => {
    const { files } = await record({ timeJitter: 'full' }, jump());
    const r = analyzeTimestamps((await flv(files[0]!.file)).flv.tags);
    expect(r.video.firstMs).toBe(0);
    expect(r.monotonic).toBe(true);
    // The 60 s jump became one 10 ms step (as SRS's jitter does): no gap beyond a frame or two.
    expect(r.maxGapMs).toBeLessThan(100);
    expect(files[0]!.durationMs).toBeLessThan(5100);
  });

  it('zero: starts at 0 and keeps the jump', async () => {
    const { files } = await record({ timeJitter: 'zero' }, jump());
    const r = analyzeTimestamps((await flv(files[0]!.file)).flv.tags);
    expect(r.video.firstMs).toBe(0);
    expect(r.maxGapMs).toBeGreaterThan(60000);
  });

  it("off: the stream's own timestamps", async () => {
    const { files } = await record({ timeJitter: 'off' }, stream({ from: 10000, seconds: 2 }));
    const r = analyzeTimestamps((await flv(files[0]!.file)).flv.tags);
    expect(r.video.firstMs).toBe(10000);
  });

  it('full, segment: every file starts at 0', async () => {
    const { files } = await record({ timeJitter: 'full', plan: 'segment', duration: 1 }, stream({ from: 5000, seconds: 4 }));
    expect(files).toHaveLength(4);
    for (const f of files) expect(videoTimes((await flv(f.file)).flv)[0]).toBe(0);
  });
});

describe('DvrRecorder: files', () => {
  it('is invisible until complete: the temporary name is not .flv, then the rename', async () => {
    const rec = new DvrRecorder(ID, config({}));
    for (const m of stream({ seconds: 3 })) rec.enqueue(m);
    // A batch big enough to go to disk now.
    for (let i = 0; i < 10; i++) rec.enqueue(new SharedMessage(9, 3000 + i * 40, Buffer.concat([avcFrame(false), Buffer.alloc(64 * 1024)]), 0));
    rec.flush();
    await rec.settled();
    const during = await readdir(path.join(dir, 'live'));
    expect(during).toEqual(['cam-0.flv.tmp']);
    expect(rec.recordingPath).toBe(path.join(dir, 'live/cam-0.flv.tmp'));
    expect((await stat(path.join(dir, 'live/cam-0.flv.tmp'))).size).toBeGreaterThan(256 * 1024);
    rec.onUnpublish();
    await rec.settled();
    expect(await readdir(path.join(dir, 'live'))).toEqual(['cam-0.flv']);
    expect(parseFlv(await readFile(path.join(dir, 'live/cam-0.flv'))).truncated).toBe(false);
  });

  it("fills SRS's template: [vhost] [app] [stream] [timestamp] [2006] [01] [02] [15] [04] [05] [999], and [duration] at the end", async () => {
    const before = Date.now();
    const { files } = await record({ path: path.join(dir, '[vhost]/[app]/[stream]/[2006]-[01]-[02]/[15].[04].[05].[999]-[timestamp]-[duration].flv') }, stream({ seconds: 2 }));
    const rel = path.relative(dir, files[0]!.file);
    const m = /^__defaultVhost__\/live\/cam\/(\d{4})-(\d\d)-(\d\d)\/(\d\d)\.(\d\d)\.(\d\d)\.(\d{3})-(\d+)-(\d+)\.flv$/.exec(rel);
    expect(m, rel).not.toBeNull();
    const ts = Number(m![8]);
    expect(ts).toBeGreaterThanOrEqual(before);
    const d = new Date(ts);
    expect([Number(m![1]), Number(m![2]), Number(m![3]), Number(m![4]), Number(m![5]), Number(m![6]), Number(m![7])]).toEqual([
      d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds(),
    ]);
    expect(Number(m![9])).toBe(files[0]!.durationMs);
    expect(Number(m![9])).toBeGreaterThanOrEqual(2000);
  });

  it('never replaces a file: a taken name gets -1, -2 before the extension', async () => {
    const p = path.join(dir, 'rec/[stream].flv');
    const a = await record({ path: p }, stream({ seconds: 1 }));
    const b = await record({ path: p }, stream({ seconds: 1 }));
    const c = await record({ path: p }, stream({ seconds: 1 }));
    expect([a, b, c].map((r) => path.basename(r.files[0]!.file))).toEqual(['cam.flv', 'cam-1.flv', 'cam-2.flv']);
  });

  it('refuses a stream name that would leave the directory of dvr_path', async () => {
    const { files, rec } = await record({ path: path.join(dir, 'rec/[app]/[stream].flv') }, stream({ seconds: 1 }), { ...ID, stream: '../../../escape' });
    expect(files).toHaveLength(0);
    expect(await readdir(dir)).toEqual([]);
    expect(rec.stats.files).toBe(0);
    expect(templateRoot(path.join(dir, 'rec/[app]/[stream].flv'))).toBe(path.join(dir, 'rec'));
    expect(templateRoot('./objs/nginx/html/[app]/[stream].[timestamp].flv')).toBe(path.resolve('objs/nginx/html'));
    expect(templateRoot('/data/rec-[stream].flv')).toBe('/data');
  });

  it('FLV: a new sequence header goes into the same file; a repeated one is not written again', async () => {
    const msgs = stream({ seconds: 2, audio: false });
    msgs.push(videoSh(2000), videoSh(2000, avcSh(0x1f)), video(2000, true), video(2040, false));
    const { files } = await record({}, msgs);
    expect(files).toHaveLength(1);
    const f = (await flv(files[0]!.file)).flv;
    expect(f.tags.filter((t) => t.type === 'video' && t.isSequenceHeader)).toHaveLength(2);
  });
});

describe('DvrRecorder: MP4', () => {
  it('writes a fragmented MP4 when dvr_path ends in .mp4', async () => {
    const { files } = await record({ path: path.join(dir, '[app]/[stream]-[seq].mp4') }, stream({ seconds: 3 }));
    expect(files).toHaveLength(1);
    const buf = await readFile(files[0]!.file);
    expect(buf.toString('latin1', 4, 8)).toBe('ftyp');
    const types: string[] = [];
    for (let o = 0; o < buf.length; o += buf.readUInt32BE(o)) types.push(buf.toString('latin1', o + 4, o + 8));
    expect(types.slice(0, 2)).toEqual(['ftyp', 'moov']);
    expect(types.filter((t) => t === 'moof')).toHaveLength(3); // one per GOP
    expect(files[0]!.durationMs).toBeGreaterThanOrEqual(3000);
  });

  it('starts a new MP4 file when the codec parameters change (its tracks cannot), at the next keyframe', async () => {
    const msgs = stream({ seconds: 2 });
    msgs.push(videoSh(2000, avcSh(0x1f)), video(2000, true), audio(2010), video(2040, false));
    const { files } = await record({ path: path.join(dir, '[app]/[stream]-[seq].mp4') }, msgs);
    expect(files).toHaveLength(2);
    const second = await readFile(files[1]!.file);
    // The new file's avcC has the new level (0x1f).
    expect(second.includes(Buffer.from([0x61, 0x76, 0x63, 0x43, 1, 0x42, 0xc0, 0x1f]))).toBe(true);
  });

  it('starts a new MP4 file for a track whose sequence header comes after the first fragment', async () => {
    // Video alone for 2 s (two GOPs: the moov is out), then audio appears.
    const msgs = stream({ seconds: 2, audio: false });
    msgs.push(audioSh(2000), audio(2000), video(2000, true), audio(2023), video(2040, false));
    const { files } = await record({ path: path.join(dir, '[app]/[stream]-[seq].mp4') }, msgs);
    expect(files).toHaveLength(2);
    const traks = async (f: string): Promise<number> => (await readFile(f)).toString('latin1').split('trak').length - 1;
    expect(await traks(files[0]!.file)).toBe(1);
    expect(await traks(files[1]!.file)).toBe(2);
  });
});
