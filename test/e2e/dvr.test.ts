/**
 * DVR with real ffmpeg publishers and ffprobe: every publish runs at once (about 7 s of the
 * h264-aac fixture each, looping), to one server with a vhost per case, then each case
 * checks its files:
 * - session: one FLV per publish that ffprobe reads with both streams and the duration,
 *   metadata and sequence headers first, no timestamp jumps;
 * - segment (dvr_duration 2): several files of ~2 s, each starting with a keyframe at 0;
 * - .mp4: a fragmented MP4 that ffprobe reads as H.264 + AAC with the duration;
 * - dvr_apply naming one stream: the other is not recorded;
 * - a publisher killed (SIGKILL) mid-stream: its file is still complete and readable;
 * - on_dvr: a hook server hears of each file, with its path and the stream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeTimestamps, isVideoFrame, parseFlv, probe, probeFrames, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const SECONDS = 7;

interface HookCall {
  body: Record<string, unknown>;
}

const hookCalls: HookCall[] = [];
let hookServer: http.Server;
let server: RunningServer;

/** Every file under `dir`, recursively, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)).map((f) => path.join(e.name, f)));
    else out.push(e.name);
  }
  return out.sort();
}

async function waitFor<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const recDir = (vhost: string): string => path.join(server.dir, 'rec', vhost, 'live');

beforeAll(async () => {
  hookServer = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      hookCalls.push({ body: JSON.parse(data || '{}') as Record<string, unknown> });
      res.writeHead(200).end('0');
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  const hook = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/dvr`;
  const hooks = `http_hooks { enabled on; on_dvr ${hook}; }`;
  const dvr = (vhost: string, more: string, ext = 'flv'): string =>
    `vhost ${vhost} {\n  dvr { enabled on; dvr_path {{dir}}/rec/[vhost]/[app]/[stream].[timestamp].${ext}; ${more} }\n  ${hooks}\n}`;
  server = await startServer({
    confText: [
      'listen {{port}};',
      'daemon off;',
      'srs_log_tank console;',
      'pid {{dir}}/sluice.pid;',
      'vhost __defaultVhost__ { }',
      dvr('session.dvr', 'dvr_plan session;'),
      dvr('segment.dvr', 'dvr_plan segment; dvr_duration 2; dvr_wait_keyframe on;'),
      dvr('mp4.dvr', 'dvr_plan session;', 'mp4'),
      dvr('apply.dvr', 'dvr_apply live/yes;'),
      dvr('killed.dvr', ''),
      '',
    ].join('\n'),
  });
  const file = await testMedia('h264-aac');
  const url = (vhost: string, stream: string): string => `rtmp://127.0.0.1:${server.port}/live?vhost=${vhost}/${stream}`;
  const timed = (vhost: string, stream: string): Publisher =>
    publish(file, url(vhost, stream), { loop: true, outputArgs: ['-t', String(SECONDS)], timeoutMs: 30_000 });
  const publishers = [timed('session.dvr', 'cam'), timed('segment.dvr', 'cam'), timed('mp4.dvr', 'cam'), timed('apply.dvr', 'yes'), timed('apply.dvr', 'no')];
  const killed = publish(file, url('killed.dvr', 'cam'), { loop: true, timeoutMs: 30_000 });
  await Promise.all([...publishers.map((p) => p.ready), killed.ready]);
  // The killed one drops after ~4 s without unpublishing; the others end after 7 s.
  await new Promise((r) => setTimeout(r, 4000));
  await killed.kill();
  await Promise.all(publishers.map((p) => p.exited));
  // Each recorded publish leaves a complete file and its on_dvr: session, mp4, apply (yes), killed, and segment's last.
  const done = (vhost: string): boolean => hookCalls.some((c) => c.body['vhost'] === vhost);
  await waitFor('every on_dvr', () => (['session.dvr', 'segment.dvr', 'mp4.dvr', 'apply.dvr', 'killed.dvr'].every(done) ? true : undefined), 15_000);
  await new Promise((r) => setTimeout(r, 300)); // segment's last file comes after its others
}, 60_000);

afterAll(async () => {
  await server?.stop();
  hookServer?.closeAllConnections();
  await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
});

describe('dvr', () => {
  it('session: one FLV per publish, read by ffprobe with both streams and the duration, without timestamp jumps', async () => {
    const files = await filesUnder(recDir('session.dvr'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cam\.\d{13}\.flv$/);
    const file = path.join(recDir('session.dvr'), files[0]!);
    const info = await probe(file);
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Number(info.format.duration)).toBeGreaterThan(SECONDS - 1);
    expect(Number(info.format.duration)).toBeLessThan(SECONDS + 1);
    const flv = parseFlv(await readFile(file));
    expect(flv.truncated).toBe(false);
    expect(flv.tags[0]!.scriptName).toBe('onMetaData');
    const r = analyzeTimestamps(flv.tags);
    expect(r.firstVideoTagIsSequenceHeader).toBe(true);
    expect(r.firstVideoIsKeyframe).toBe(true);
    expect(r.video.firstMs).toBe(0);
    expect(r.monotonic).toBe(true);
    // The fixture loops (10 s file, 7 s publish): no step beyond a frame or two anywhere.
    expect(r.maxGapMs).toBeLessThan(100);
    expect(r.durationMs).toBeGreaterThan((SECONDS - 1) * 1000);
  });

  it('segment: files of dvr_duration (2 s), each starting with a keyframe at 0', async () => {
    const files = await filesUnder(recDir('segment.dvr'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const name of files) expect(name).toMatch(/^cam\.\d{13}\.flv$/);
    let frames = 0;
    // All but the last are whole: the fixture's GOP is 2 s, so each holds one GOP.
    for (const [i, name] of files.entries()) {
      const file = path.join(recDir('segment.dvr'), name);
      const flv = parseFlv(await readFile(file));
      const r = analyzeTimestamps(flv.tags);
      expect(flv.tags[0]!.scriptName).toBe('onMetaData');
      expect(r.firstVideoTagIsSequenceHeader).toBe(true);
      expect(r.firstVideoIsKeyframe).toBe(true);
      expect(r.video.firstMs).toBe(0);
      expect(r.monotonic).toBe(true);
      frames += r.videoFrames;
      if (i < files.length - 1) {
        const d = Number((await probe(file)).format.duration);
        expect(d).toBeGreaterThan(1.9);
        expect(d).toBeLessThan(2.2);
        const pk = await probeFrames(file);
        expect(pk.find((p) => p.codecType === 'video')!.keyframe).toBe(true);
      }
    }
    expect(frames).toBeGreaterThan((SECONDS - 1) * 25);
  });

  it('mp4: a fragmented MP4 that ffprobe reads as H.264 + AAC with the duration', async () => {
    const files = await filesUnder(recDir('mp4.dvr'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cam\.\d{13}\.mp4$/);
    const file = path.join(recDir('mp4.dvr'), files[0]!);
    const info = await probe(file);
    expect(info.format.format_name).toContain('mp4');
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(info.streams.find((s) => s.codec_name === 'h264')!.width).toBe(320);
    expect(Number(info.format.duration)).toBeGreaterThan(SECONDS - 1);
    expect(Number(info.format.duration)).toBeLessThan(SECONDS + 1);
    const pk = await probeFrames(file);
    const video = pk.filter((p) => p.codecType === 'video');
    expect(video[0]!.keyframe).toBe(true);
    for (let i = 1; i < video.length; i++) expect(video[i]!.dtsTime!).toBeGreaterThan(video[i - 1]!.dtsTime!);
  });

  it('dvr_apply: records only the streams it names', async () => {
    const files = await filesUnder(recDir('apply.dvr'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^yes\.\d{13}\.flv$/);
  });

  it('a publisher that drops (SIGKILL) still leaves a complete, readable file', async () => {
    const files = await filesUnder(recDir('killed.dvr'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cam\.\d{13}\.flv$/); // renamed: complete
    const file = path.join(recDir('killed.dvr'), files[0]!);
    const flv = parseFlv(await readFile(file));
    expect(flv.truncated).toBe(false);
    const info = await probe(file);
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Number(info.format.duration)).toBeGreaterThan(2);
    expect(flv.tags.filter(isVideoFrame).length).toBeGreaterThan(50);
  });

  it('on_dvr: told of each completed file, with its path and the stream', async () => {
    for (const vhost of ['session.dvr', 'segment.dvr', 'mp4.dvr', 'apply.dvr', 'killed.dvr']) {
      const files = await filesUnder(recDir(vhost));
      const calls = hookCalls.filter((c) => c.body['vhost'] === vhost);
      expect(calls.map((c) => String(c.body['file'])).sort()).toEqual(files.map((f) => path.join(recDir(vhost), f)).sort());
      for (const c of calls) {
        // SRS's stream_url names a vhost other than the default one.
        expect(c.body).toMatchObject({ action: 'on_dvr', vhost, app: 'live', ip: '127.0.0.1', param: `?vhost=${vhost}`, stream_url: `${vhost}/live/${c.body['stream']}` });
        expect(c.body['stream']).toBe(vhost === 'apply.dvr' ? 'yes' : 'cam');
        expect(c.body['tcUrl']).toContain(`rtmp://127.0.0.1:${server.port}/live`);
        expect(typeof c.body['cwd']).toBe('string');
        expect(c.body['client_id']).toMatch(/^\d+$/);
        expect((await stat(String(c.body['file']))).size).toBeGreaterThan(0);
      }
    }
  });

  it('leaves no temporary file behind', async () => {
    const all = await filesUnder(path.join(server.dir, 'rec'));
    expect(all.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
