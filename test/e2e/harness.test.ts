/**
 * Self-test of the end-to-end harness (test/support): fixtures, the FLV reader, ports,
 * process cleanup and the summary line. Uses no server.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { analyzeTimestamps, parseFlv, probe, probeFrames, readFlvFile } from '../support/clients.js';
import { FIXTURE_KINDS, FIXTURES, testMedia, type FixtureKind } from '../support/fixtures.js';
import { canConnect, freePort } from '../support/ports.js';
import { liveProcesses, spawnTracked, track } from '../support/procs.js';
import { summaryLine } from '../support/summary-reporter.js';

describe('fixtures', () => {
  it.each(FIXTURE_KINDS)('%s is generated and matches its recipe', async (kind: FixtureKind) => {
    const t0 = performance.now();
    const file = await testMedia(kind);
    const ms = Math.round(performance.now() - t0);
    console.log(`fixture ${kind}: ${ms} ms -> ${file}`);
    const want = FIXTURES[kind].expect;

    const info = await probe(file);
    expect(info.format.format_name).toBe('flv');
    expect(Number(info.format.duration)).toBeCloseTo(want.durationSec, 0);
    const video = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');

    if (want.audio) {
      expect(audio?.codec_name).toBe(want.audio.codec);
      expect(Number(audio?.sample_rate)).toBe(want.audio.sampleRate);
      expect(audio?.channels).toBe(want.audio.channels);
    } else {
      expect(audio).toBeUndefined();
    }
    if (!want.video) {
      expect(video).toBeUndefined();
      return;
    }
    expect(video?.codec_name).toBe(want.video.codec);
    expect([video?.width, video?.height]).toEqual([want.video.width, want.video.height]);
    expect(video?.r_frame_rate).toBe(`${want.video.fps}/1`);

    const packets = (await probeFrames(file)).filter((p) => p.codecType === 'video');
    expect(packets.length).toBe(want.durationSec * want.video.fps);
    // GOP: a keyframe exactly every gopSec seconds, and nowhere else.
    const keyTimes = packets.filter((p) => p.keyframe).map((p) => p.dtsTime!);
    expect(keyTimes.length).toBe(want.durationSec / want.video.gopSec);
    for (let i = 1; i < keyTimes.length; i++) {
      expect(keyTimes[i]! - keyTimes[i - 1]!).toBeCloseTo(want.video.gopSec, 2);
    }
    // B-frames show up as packets whose pts differs from their dts.
    const reordered = packets.filter((p) => p.ptsTime !== p.dtsTime).length;
    if (want.video.bFrames) expect(reordered).toBeGreaterThan(packets.length / 2);
    else expect(reordered).toBe(0);

    if (want.video.kbps) {
      const bits = packets.reduce((n, p) => n + p.size * 8, 0);
      const kbps = bits / want.durationSec / 1000;
      expect(kbps).toBeGreaterThan(want.video.kbps * 0.8);
      expect(kbps).toBeLessThan(want.video.kbps * 1.2);
    }
  });

  it('is cached: the second call returns at once with the same path', async () => {
    const first = await testMedia('h264-aac');
    const t0 = performance.now();
    const again = await Promise.all([testMedia('h264-aac'), testMedia('h264-aac')]);
    expect(again).toEqual([first, first]);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

describe('FLV reader', () => {
  it('reads the h264-aac fixture: frame counts, timestamps, sequence headers', async () => {
    const flv = await readFlvFile(await testMedia('h264-aac'));
    expect(flv.header).toMatchObject({ version: 1, hasAudio: true, hasVideo: true, dataOffset: 9 });
    expect(flv.truncated).toBe(false);
    expect(flv.tags[0]).toMatchObject({ type: 'script', scriptName: 'onMetaData' });

    const firstVideo = flv.tags.find((t) => t.type === 'video')!;
    expect(firstVideo).toMatchObject({ keyframe: true, codecId: 7, avcPacketType: 0, isSequenceHeader: true });
    const firstAudio = flv.tags.find((t) => t.type === 'audio')!;
    expect(firstAudio).toMatchObject({ soundFormat: 10, aacPacketType: 0, isSequenceHeader: true });

    const ts = analyzeTimestamps(flv.tags);
    expect(ts.videoFrames).toBe(250);
    expect(ts.audioFrames).toBeGreaterThanOrEqual(428);
    expect(ts.audioFrames).toBeLessThanOrEqual(434);
    expect(ts.monotonic).toBe(true);
    expect(ts.monotonicInterleaved).toBe(true);
    expect(ts.firstVideoIsKeyframe).toBe(true);
    expect(ts.firstVideoTagIsSequenceHeader).toBe(true);
    expect(ts.maxGapMs).toBeLessThanOrEqual(41); // 40 ms video frames, ~23 ms AAC frames
    expect(ts.durationMs).toBeGreaterThan(9900);
    expect(ts.durationMs).toBeLessThan(10100);
    // No B-frames: composition time is 0 everywhere.
    expect(flv.tags.filter((t) => (t.compositionTime ?? 0) !== 0)).toHaveLength(0);
  });

  it('sees composition times in the h264-bframes fixture', async () => {
    const flv = await readFlvFile(await testMedia('h264-bframes'));
    const frames = flv.tags.filter((t) => t.type === 'video' && t.avcPacketType === 1);
    expect(frames).toHaveLength(250);
    expect(frames.filter((t) => t.compositionTime! > 0).length).toBeGreaterThan(100);
    expect(analyzeTimestamps(flv.tags).monotonic).toBe(true);
  });

  it('reads single-track files', async () => {
    const audioOnly = analyzeTimestamps((await readFlvFile(await testMedia('aac-only'))).tags);
    expect(audioOnly).toMatchObject({ videoFrames: 0, firstVideoIsKeyframe: false, monotonic: true });
    expect(audioOnly.audioFrames).toBeGreaterThan(425);
    const videoOnly = analyzeTimestamps((await readFlvFile(await testMedia('h264-only'))).tags);
    expect(videoOnly).toMatchObject({ videoFrames: 250, audioFrames: 0, firstVideoIsKeyframe: true });
  });

  it('flags a file cut inside a tag and keeps the whole tags', async () => {
    const { readFile } = await import('node:fs/promises');
    const whole = await readFile(await testMedia('h264-aac'));
    const full = parseFlv(whole);
    const cut = parseFlv(whole.subarray(0, Math.floor(whole.length / 2)));
    expect(cut.truncated).toBe(true);
    expect(cut.tags.length).toBeGreaterThan(10);
    expect(cut.tags.length).toBeLessThan(full.tags.length);
    expect(cut.tags.at(-1)).toEqual(full.tags[cut.tags.length - 1]);
    expect(() => parseFlv(Buffer.from('not flv'))).toThrow(/not an FLV/);
  });
});

describe('ports', () => {
  it('freePort gives distinct ports that nobody listens on', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) {
      expect(p).toBeGreaterThan(1023);
      expect(await canConnect(p)).toBe(false);
    }
  });
});

describe('process cleanup', () => {
  let pidFromPreviousTest: number | undefined;

  it('a process started in a test is tracked', () => {
    const entry = spawnTracked('sleep', ['60'], { name: 'sleep (left running on purpose)' });
    pidFromPreviousTest = entry.proc.pid;
    expect(liveProcesses().map((p) => p.proc.pid)).toContain(pidFromPreviousTest);
    const other = track(spawn('sleep', ['60']), 'another sleep');
    expect(other.testId).toBe(entry.testId);
    expect(entry.testId).toBeDefined();
  });

  it('... is killed when that test ends', () => {
    expect(pidFromPreviousTest).toBeDefined();
    expect(liveProcesses()).toHaveLength(0);
    expect(() => process.kill(pidFromPreviousTest!, 0)).toThrow(/ESRCH/);
  });
});

describe('summary reporter', () => {
  it('formats the CI line', () => {
    expect(summaryLine(3, 0, 0)).toBe('tests: 3 passed, 0 failed');
    expect(summaryLine(3, 1, 2)).toBe('tests: 3 passed, 1 failed, 2 skipped');
  });
});
