/**
 * HLS (hls { }) end to end: ffmpeg publishes, Sluice segments with its native TS muxer and
 * serves the playlist and segments over its own HTTP server (from hls_path on disk, or
 * from memory); ffprobe plays them. Also: audio-only, a republish (discontinuity),
 * hls_dispose, and hls turned on by a reload for the next publish.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probe, probeFrames, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { httpStream } from '../support/http-stream.js';
import { startServer, type RunningServer } from '../support/server.js';

const running: { servers: RunningServer[]; publishers: Publisher[] } = { servers: [], publishers: [] };

afterEach(async () => {
  await Promise.all(running.publishers.splice(0).map((p) => p.stop()));
  await Promise.all(running.servers.splice(0).map((s) => s.stop()));
});

function conf(hls: string, extra = ''): string {
  // The test's own directives, then the defaults it does not set (SRS reads the first of a name).
  const defaults = ['hls_fragment 2;', 'hls_window 6;'].filter((d) => !hls.includes(d.split(' ')[0]!));
  return `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}/www; }
vhost __defaultVhost__ {
  hls { enabled on; ${hls} ${defaults.join(' ')} }
}
${extra}`;
}

async function start(hls: string, extra = ''): Promise<{ server: RunningServer; http: string }> {
  const server = await startServer({ confText: conf(hls, extra) });
  running.servers.push(server);
  return { server, http: `http://127.0.0.1:${server.ports['http']}` };
}

function startPublish(file: string, url: string): Publisher {
  const p = publish(file, url, { loop: true, timeoutMs: 300_000 });
  running.publishers.push(p);
  return p;
}

async function get(url: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
}

/** Polls the playlist until it lists at least `n` segments; returns its text. */
async function waitForSegments(url: string, n: number, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await fetch(url).catch(() => null);
    if (r?.status === 200) {
      last = await r.text();
      if (segmentsOf(last).length >= n) return last;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${url}: fewer than ${n} segments after ${timeoutMs} ms:\n${last}`);
}

function segmentsOf(m3u8: string): string[] {
  return m3u8.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('HLS', () => {
  it('writes a live playlist and segments to hls_path that ffprobe plays with continuous timestamps', async () => {
    const { server, http } = await start('hls_path {{dir}}/hls;');
    startPublish(await testMedia('h264-aac'), server.url('live', 'disk'));
    const m3u8 = await waitForSegments(`${http}/live/disk.m3u8`, 3);
    expect(m3u8).toMatch(/^#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:\d+\n#EXT-X-TARGETDURATION:3\n/);
    expect(m3u8).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
    for (const d of [...m3u8.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]))) {
      // The fixture's GOP is 2 s: every segment is one GOP.
      expect(d).toBeGreaterThan(1.9);
      expect(d).toBeLessThanOrEqual(2.1);
    }
    // On disk, under hls_path, renamed into place.
    const files = await readdir(path.join(server.dir, 'hls', 'live'));
    expect(files).toContain('disk.m3u8');
    for (const s of segmentsOf(m3u8)) expect(files).toContain(s);
    expect(await readFile(path.join(server.dir, 'hls', 'live', 'disk.m3u8'), 'utf8')).toMatch(/^#EXTM3U/);

    const playlist = await get(`${http}/live/disk.m3u8`);
    expect(playlist.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(playlist.headers['cache-control']).toBe('no-cache');
    expect(playlist.headers['access-control-allow-origin']).toBe('*');
    const seg = await get(`${http}/live/${segmentsOf(m3u8).at(-1)}`);
    expect(seg.status).toBe(200);
    expect(seg.headers['content-type']).toBe('video/mp2t');
    expect(seg.body.length % 188).toBe(0);

    const r = await probe(`${http}/live/disk.m3u8`);
    expect(r.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const packets = await probeFrames(`${http}/live/disk.m3u8`, { seconds: 4 });
    const video = packets.filter((p) => p.codecType === 'video').map((p) => p.dtsTime!);
    expect(video.length).toBeGreaterThan(80);
    for (let i = 1; i < video.length; i++) {
      const step = video[i]! - video[i - 1]!;
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThan(0.2);
    }
  }, 60_000);

  it('keeps the window: old segments leave the playlist and then the disk', async () => {
    const { server, http } = await start('hls_path {{dir}}/hls; hls_window 4;');
    startPublish(await testMedia('h264-aac'), server.url('live', 'win'));
    await waitForSegments(`${http}/live/win.m3u8`, 2);
    await new Promise((r) => setTimeout(r, 9000));
    const m3u8 = (await get(`${http}/live/win.m3u8`)).body.toString();
    const listed = segmentsOf(m3u8);
    expect(listed.length).toBeLessThanOrEqual(3);
    expect(Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(m3u8)![1])).toBeGreaterThan(2);
    const onDisk = (await readdir(path.join(server.dir, 'hls', 'live'))).filter((f) => f.endsWith('.ts'));
    // The window plus those still inside their grace period (RFC 8216 6.2.2), never all of them.
    expect(onDisk.length).toBeLessThan(8);
    expect((await get(`${http}/live/win-0.ts`)).status).toBe(404);
  }, 40_000);

  it('serves HLS from memory with hls_storage memory and writes nothing to disk', async () => {
    const { server, http } = await start('hls_path {{dir}}/hls; hls_storage memory;');
    startPublish(await testMedia('h264-aac'), server.url('live', 'mem'));
    const m3u8 = await waitForSegments(`${http}/live/mem.m3u8`, 3);
    const seg = await get(`${http}/live/${segmentsOf(m3u8)[0]}`);
    expect(seg.status).toBe(200);
    expect(seg.headers['content-type']).toBe('video/mp2t');
    const ranged = await fetch(`${http}/live/${segmentsOf(m3u8)[0]}`, { headers: { Range: 'bytes=188-375' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).length).toBe(188);
    const r = await probe(`${http}/live/mem.m3u8`);
    expect(r.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(existsSync(path.join(server.dir, 'hls'))).toBe(false);
  }, 60_000);

  it('makes audio-only HLS from an audio-only publish', async () => {
    const { server, http } = await start('hls_storage memory; hls_aof_ratio 1;');
    startPublish(await testMedia('aac-only'), server.url('live', 'radio'));
    await waitForSegments(`${http}/live/radio.m3u8`, 2);
    const r = await probe(`${http}/live/radio.m3u8`);
    expect(r.streams.map((s) => s.codec_type)).toEqual(['audio']);
    expect(r.streams[0]?.codec_name).toBe('aac');
  }, 40_000);

  it('continues the playlist after a discontinuity when the publisher returns', async () => {
    const { server, http } = await start('hls_storage memory; hls_window 30;');
    const file = await testMedia('h264-aac');
    const first = startPublish(file, server.url('live', 'again'));
    await waitForSegments(`${http}/live/again.m3u8`, 2);
    await first.stop();
    await server.waitForLog(/unpublish __defaultVhost__\/live\/again/);
    // Still served while nobody publishes.
    const between = (await get(`${http}/live/again.m3u8`)).body.toString();
    const before = segmentsOf(between).length;
    startPublish(file, server.url('live', 'again'));
    const after = await waitForSegments(`${http}/live/again.m3u8`, before + 2);
    expect(after).toContain('#EXT-X-DISCONTINUITY\n');
    expect(after).not.toContain('#EXT-X-ENDLIST');
    // Sequence numbers go on: no name is reused.
    const names = segmentsOf(after);
    expect(new Set(names).size).toBe(names.length);
    const r = await probe(`${http}/live/again.m3u8`);
    expect(r.streams.length).toBe(2);
  }, 60_000);

  it('removes the stream hls_dispose seconds after the publisher leaves', async () => {
    const { server, http } = await start('hls_path {{dir}}/hls; hls_dispose 2;');
    const p = startPublish(await testMedia('h264-aac'), server.url('live', 'gone'));
    await waitForSegments(`${http}/live/gone.m3u8`, 2);
    await p.stop();
    await server.waitForLog(/hls __defaultVhost__\/live\/gone: disposed 2s after unpublish/, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(`${http}/live/gone.m3u8`)).status).toBe(404);
    expect((await readdir(path.join(server.dir, 'hls', 'live'))).filter((f) => f.startsWith('gone'))).toEqual([]);
  }, 40_000);

  it('turns HLS on for a vhost by reload, for the next publish', async () => {
    const { server, http } = await start('', 'vhost later.com { }');
    const file = await testMedia('h264-aac');
    const before = startPublish(file, `rtmp://127.0.0.1:${server.port}/live?vhost=later.com/x`);
    await before.ready;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await get(`${http}/live/x.m3u8`)).status).toBe(404);
    const text = (await readFile(server.confFile, 'utf8')).replace(
      'vhost later.com { }',
      'vhost later.com { hls { enabled on; hls_fragment 1; hls_storage memory; } }',
    );
    await writeFile(server.confFile, text);
    server.process.kill('SIGHUP');
    await server.waitForLog(/reload: done/);
    await before.stop();
    startPublish(file, `rtmp://127.0.0.1:${server.port}/live?vhost=later.com/x`);
    await waitForSegments(`${http}/live/x.m3u8`, 2);
  }, 60_000);

  it('never serves a path outside the HLS index and the static root', async () => {
    const { server, http } = await start('hls_path {{dir}}/hls;');
    startPublish(await testMedia('h264-aac'), server.url('live', 'safe'));
    await waitForSegments(`${http}/live/safe.m3u8`, 1);
    for (const p of ['/live/../sluice.pid', '/live/%2e%2e/sluice.pid', '/live/safe.m3u8.tmp', '/../hls/live/safe.m3u8']) {
      const r = await httpStream(`${http}${p}`, 1);
      expect(r.status, p).toBe(404);
    }
  }, 40_000);
});
