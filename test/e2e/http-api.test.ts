/**
 * The HTTP API (`http_api { }`) against the real server: a stream published by ffmpeg and
 * its RTMP and HTTP-FLV players show up within a second, with SRS's fields, and disappear
 * within a second of leaving; DELETE kicks players and publishers; unknown ids, raw reload,
 * Basic auth, CORS and JSONP answer as SRS's.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { httpStream } from '../support/http-stream.js';
import { startServer, type RunningServer } from '../support/server.js';
import { watchVideo } from '../support/watch.js';

const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_api { enabled on; listen 127.0.0.1:{{port:api}}; raw_api { enabled on; allow_reload on; } }
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
vhost __defaultVhost__ {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
}
`;

const LOCKED_CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_api {
  enabled on;
  listen 127.0.0.1:{{port:api}};
  crossdomain off;
  auth { enabled on; username admin; password "s3cret:x"; }
  raw_api { enabled on; allow_reload off; }
}
vhost __defaultVhost__ { }
`;

/** The API on http_server's port (SRS >= 5 merges them when the listens are equal). */
const SHARED_CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
http_api { enabled on; listen 127.0.0.1:{{port:http}}; }
vhost __defaultVhost__ { }
`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

interface Stream {
  id: string;
  name: string;
  vhost: string;
  app: string;
  clients: number;
  frames: number;
  recv_bytes: number;
  send_bytes: number;
  publish: { active: boolean; cid?: string };
  video: { codec: string; profile: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number; profile: string } | null;
}

interface Client {
  id: string;
  name: string;
  type: string;
  publish: boolean;
  stream: string;
}

let server: RunningServer;
let locked: RunningServer;
let shared: RunningServer;
let api = '';
let flvBase = '';
let file = '';
const publishers: Publisher[] = [];
/** The publisher of live/apitest (started in beforeAll: a test's processes end with it). */
let main: Publisher;
/** The stream of live/apitest as first listed, and how long after the publish it was. */
let firstSeen: { value: Stream; after: number };

async function call(base: string, p: string, init: RequestInit = {}): Promise<Answer> {
  const r = await fetch(`${base}${p}`, init);
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (401, JSONP, 405)
  }
  return { status: r.status, headers: r.headers, text, json };
}

const get = (p: string, init?: RequestInit) => call(api, p, init);
const streams = async () => (await get('/api/v1/streams/?count=100')).json['streams'] as Stream[];
const clients = async () => (await get('/api/v1/clients/?count=100')).json['clients'] as Client[];

/** Polls `check` every 50 ms until it returns a value; fails after `ms`. Returns the value and the time taken. */
async function within<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<{ value: T; after: number }> {
  const start = performance.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, after: performance.now() - start };
    if (performance.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  [server, locked, shared, file] = await Promise.all([
    startServer({ confText: CONF }),
    startServer({ confText: LOCKED_CONF }),
    startServer({ confText: SHARED_CONF }),
    testMedia('h264-aac'),
  ]);
  api = `http://127.0.0.1:${server.ports['api']}`;
  flvBase = `http://127.0.0.1:${server.ports['http']}`;
  main = publish(file, server.url('live', 'apitest'), { loop: true, timeoutMs: 120_000 });
  publishers.push(main);
  await main.ready;
  firstSeen = await within(1000, 'stream listed', async () => (await streams()).find((s) => s.name === 'apitest'));
}, 60_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all([server?.stop(), locked?.stop(), shared?.stop()]);
});

describe('HTTP API: streams and clients', () => {
  let stream: Stream;
  let publisherId = '';

  it('lists a published stream within 1 s of the publish, with SRS fields', async () => {
    expect(firstSeen.after).toBeLessThan(1000);
    // Codecs come with the sequence headers, right after the publish.
    stream = (await within(2000, 'codecs known', async () => (await streams()).find((s) => s.name === 'apitest' && s.video && s.audio))).value;
    expect(stream).toMatchObject({
      name: 'apitest',
      app: 'live',
      url: '/live/apitest',
      clients: 1,
      publish: { active: true },
      video: { codec: 'H264', profile: 'Baseline', width: 320, height: 240 },
      audio: { codec: 'AAC', sample_rate: 44100, channel: 2, profile: 'LC' },
    });
    expect(stream.id).toMatch(/^vid-[0-9a-z]{7}$/);
    const vhosts = (await get('/api/v1/vhosts/')).json['vhosts'] as Array<{ id: string; name: string; streams: number }>;
    expect(vhosts.find((v) => v.id === stream.vhost)).toMatchObject({ name: '__defaultVhost__', streams: 1 });
    expect((await get(`/api/v1/vhosts/${stream.vhost}`)).json['vhost']).toMatchObject({ name: '__defaultVhost__' });

    const publisher = (await clients()).find((c) => c.type === 'fmle-publish' && c.stream === stream.id);
    expect(publisher).toMatchObject({ publish: true, name: 'apitest' });
    publisherId = publisher!.id;
    expect(stream.publish.cid).toBe(publisherId);
    expect((await get(`/api/v1/clients/${publisherId}`)).json['client']).toMatchObject({ id: publisherId, type: 'fmle-publish' });

    const one = (await get(`/api/v1/streams/${stream.id}`)).json;
    expect(one).toMatchObject({ code: 0, stream: { id: stream.id, name: 'apitest' } });
    expect(one['pid']).toBe(String(server.pid));

    await new Promise((r) => setTimeout(r, 600));
    const later = (await streams()).find((s) => s.id === stream.id)!;
    expect(later.frames).toBeGreaterThan(stream.frames);
    expect(later.recv_bytes).toBeGreaterThan(stream.recv_bytes);
  });

  it('lists RTMP and HTTP-FLV players within 1 s and drops them within 1 s of leaving', async () => {
    const rtmp = await watchVideo(server.url('live', 'apitest'));
    const flv = httpStream(`${flvBase}/live/apitest.flv`, 2);
    const both = await within(1000, 'players listed', async () => {
      const list = (await clients()).filter((c) => c.stream === stream.id && !c.publish);
      return list.length === 2 ? list : undefined;
    });
    expect(both.value.map((c) => c.type).sort()).toEqual(['flv-play', 'rtmp-play']);
    expect(both.value.find((c) => c.type === 'flv-play')!.name).toBe('apitest.flv');
    expect((await streams()).find((s) => s.id === stream.id)!.clients).toBe(3);

    const flvId = both.value.find((c) => c.type === 'flv-play')!.id;
    const rtmpId = both.value.find((c) => c.type === 'rtmp-play')!.id;
    const played = await flv;
    expect(played.status).toBe(200);
    expect(played.body.length).toBeGreaterThan(10_000);
    await within(1000, 'HTTP-FLV player gone', async () => ((await clients()).some((c) => c.id === flvId) ? undefined : true));
    rtmp.close();
    await within(1000, 'RTMP player gone', async () => ((await clients()).some((c) => c.id === rtmpId) ? undefined : true));
    expect((await get(`/api/v1/clients/${rtmpId}`)).text).toBe('{"code":2049}');
    expect((await streams()).find((s) => s.id === stream.id)!.clients).toBe(1);
  });

  it('kicks players with DELETE (their connections close)', async () => {
    const rtmp = await watchVideo(server.url('live', 'apitest'));
    const rtmpClosed = new Promise<void>((r) => rtmp.client.once('close', () => r()));
    const flv = httpStream(`${flvBase}/live/apitest.flv`, 15);
    const players = (
      await within(1000, 'players listed', async () => {
        const list = (await clients()).filter((c) => c.stream === stream.id && !c.publish);
        return list.length === 2 ? list : undefined;
      })
    ).value;
    const flvId = players.find((c) => c.type === 'flv-play')!.id;
    const rtmpId = players.find((c) => c.type === 'rtmp-play')!.id;

    const kick = await get(`/api/v1/clients/${flvId}`, { method: 'DELETE' });
    expect(kick.status).toBe(200);
    expect(kick.json).toEqual({ code: 0, server: expect.any(String), service: expect.any(String), pid: String(server.pid) });
    const started = performance.now();
    const r = await flv;
    expect(r.closedByServer).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000);

    // The JSONP form of DELETE.
    const jsonp = await get(`/api/v1/clients/${rtmpId}?method=DELETE&callback=kicked`);
    expect(jsonp.text).toMatch(/^kicked\(\{"code":0,/);
    await rtmpClosed;
    await within(1000, 'kicked players gone', async () =>
      (await clients()).some((c) => c.id === flvId || c.id === rtmpId) ? undefined : true,
    );
  });

  it('kicks a publisher with DELETE: the stream is no longer published', async () => {
    const pub = publish(file, server.url('live', 'kickme'), { loop: true, timeoutMs: 120_000 });
    publishers.push(pub);
    await pub.ready;
    // A player keeps the stream listed after its publisher is gone.
    const watcher = await watchVideo(server.url('live', 'kickme'));
    try {
      const s = (await within(1000, 'kickme listed', async () => (await streams()).find((x) => x.name === 'kickme' && x.publish.active))).value;
      const kick = await get(`/api/v1/clients/${s.publish.cid}`, { method: 'DELETE' });
      expect(kick.json['code']).toBe(0);
      const after = await within(1000, 'publish inactive', async () => {
        const x = (await streams()).find((y) => y.id === s.id);
        return x && !x.publish.active ? x : undefined;
      });
      expect(after.value.publish.cid).toBeUndefined();
      expect(after.value.video).toBeNull();
      await within(1000, 'publisher gone', async () => ((await clients()).some((c) => c.id === s.publish.cid) ? undefined : true));
      // ffmpeg sees its connection closed and gives up.
      await Promise.race([pub.exited, new Promise((_, rej) => setTimeout(() => rej(new Error('ffmpeg still running')), 5000))]);
    } finally {
      watcher.close();
    }
  });

  it('drops a stream and its publisher within 1 s of the publisher leaving', async () => {
    const pub = publish(file, server.url('live', 'leaving'), { loop: true, timeoutMs: 120_000 });
    publishers.push(pub);
    await pub.ready;
    const s = (await within(1000, 'leaving listed', async () => (await streams()).find((x) => x.name === 'leaving'))).value;
    await pub.stop();
    await within(1000, 'stream gone', async () => ((await streams()).some((x) => x.id === s.id) ? undefined : true));
    expect((await clients()).some((c) => c.id === s.publish.cid)).toBe(false);
    expect((await get(`/api/v1/streams/${s.id}`)).text).toBe('{"code":2048}');
  });

  it('pages with start and count (count at least 10)', async () => {
    const all = await streams();
    expect(all.length).toBeGreaterThanOrEqual(1);
    expect(((await get('/api/v1/streams/?start=100')).json['streams'] as unknown[]).length).toBe(0);
    expect(((await get('/api/v1/clients/?count=1')).json['clients'] as unknown[]).length).toBe(Math.min(10, (await clients()).length));
  });
});

describe('HTTP API: envelope, errors and options', () => {
  it('answers SRS codes with HTTP 200 for unknown ids', async () => {
    for (const [p, code] of [
      ['/api/v1/vhosts/vid-nothing', 2014],
      ['/api/v1/streams/vid-nothing', 2048],
      ['/api/v1/clients/999999', 2049],
    ] as const) {
      const r = await get(p);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ code });
    }
    expect((await get('/api/v1/clients/999999', { method: 'DELETE' })).json).toEqual({ code: 2049 });
    expect((await get('/api/v1/streams/', { method: 'POST' })).status).toBe(405);
  });

  it('serves versions and summaries in the envelope, with JSON headers', async () => {
    const v = await get('/api/v1/versions');
    expect(v.headers.get('content-type')).toBe('application/json');
    expect(v.headers.get('server')).toMatch(/^Sluice\/\d+\.\d+\.\d+/);
    expect(v.json).toMatchObject({ code: 0, pid: String(server.pid), data: { major: expect.any(Number), version: expect.any(String) } });
    expect(v.json['server']).toMatch(/^vid-[0-9a-z]{7}$/);
    expect(v.json['service']).toMatch(/^[0-9a-z]{8}$/);
    const s = (await get('/api/v1/summaries')).json['data'] as { ok: boolean; self: Record<string, number>; system: Record<string, number> };
    expect(s.ok).toBe(true);
    expect(s.self['pid']).toBe(server.pid);
    expect(s.self['mem_kbyte']).toBeGreaterThan(1000);
    expect(s.system['srs_recv_bytes']).toBeGreaterThan(0);
    expect(s.system['mem_ram_kbyte']).toBeGreaterThan(0);
    expect(typeof s.system['net_recvi_kbps']).toBe('number');
  });

  it('answers unknown paths with the nearest index and serves no static files', async () => {
    await writeFile(path.join(server.dir, 'page.html'), '<p>static</p>');
    const root = await get('/page.html');
    expect(root.status).toBe(200);
    expect(root.json).toMatchObject({ code: 0, urls: { api: 'the api root' } });
    expect((await get('/api/v1/nothing')).json['urls']).toHaveProperty('streams');
    // No trailing slash: answered directly (SRS redirects to the slash form).
    expect((await get('/api/v1/streams', { redirect: 'manual' })).status).toBe(200);
  });

  it('wraps JSONP and refuses a bad callback name', async () => {
    const r = await get('/api/v1/versions?callback=cb_1');
    expect(r.headers.get('content-type')).toBe('text/javascript');
    expect(r.text).toMatch(/^cb_1\(\{"code":0,.*\}\)$/);
    expect((await get('/api/v1/versions?callback=alert(1)')).json).toEqual({ code: 4058 });
  });

  it('adds CORS headers for an Origin and answers a preflight', async () => {
    const r = await get('/api/v1/streams/', { headers: { Origin: 'http://page.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await get('/api/v1/clients/1', {
      method: 'OPTIONS',
      headers: { Origin: 'http://page.example', 'Access-Control-Request-Method': 'DELETE' },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-methods')).toBe('*');
    expect(pre.text).toBe('');
    // crossdomain off: no headers, OPTIONS refused.
    const lockedApi = `http://127.0.0.1:${locked.ports['api']}`;
    expect((await call(lockedApi, '/', { headers: { Origin: 'http://x' } })).headers.get('access-control-allow-origin')).toBeNull();
    expect((await call(lockedApi, '/api/v1/streams/', { method: 'OPTIONS', headers: { Origin: 'http://x' } })).status).toBe(405);
  });

  it('needs Basic credentials on /api/ when auth is on', async () => {
    const lockedApi = `http://127.0.0.1:${locked.ports['api']}`;
    const basic = (s: string) => ({ Authorization: `Basic ${Buffer.from(s).toString('base64')}` });
    const none = await call(lockedApi, '/api/v1/streams/');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic');
    expect(none.text).toBe('');
    expect((await call(lockedApi, '/api/v1/streams/', { headers: basic('admin:wrong') })).status).toBe(401);
    expect((await call(lockedApi, '/api/v1/versions', { headers: basic('root:s3cret:x') })).status).toBe(401);
    const ok = await call(lockedApi, '/api/v1/streams/', { headers: basic('admin:s3cret:x') });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ code: 0, streams: [] });
    // The root index is outside /api/, as SRS.
    expect((await call(lockedApi, '/')).status).toBe(200);
  });

  it('reloads with rpc=reload only when allowed', async () => {
    const lockedApi = `http://127.0.0.1:${locked.ports['api']}`;
    const auth = { Authorization: `Basic ${Buffer.from('admin:s3cret:x').toString('base64')}` };
    expect((await call(lockedApi, '/api/v1/raw?rpc=reload', { headers: auth })).json).toEqual({ code: 1061 });
    expect((await call(lockedApi, '/api/v1/raw?rpc=nothing', { headers: auth })).json).toEqual({ code: 1060 });
    const raw = (await call(lockedApi, '/api/v1/raw?rpc=raw', { headers: auth })).json;
    expect(raw).toMatchObject({ code: 0, http_api: { crossdomain: false, raw_api: { enabled: true, allow_reload: false } } });
    expect(locked.logs.some((l) => /reload:/.test(l))).toBe(false);

    // Allowed: the reload applies the file as SIGHUP does (a vhost added to it is listed).
    await writeFile(server.confFile, `${server.confText}vhost added.example.com { }\n`);
    expect((await get('/api/v1/raw?rpc=reload')).json).toEqual({ code: 0 });
    await server.waitForLog(/reload: done/, 5000);
    const vhosts = (await get('/api/v1/vhosts/')).json['vhosts'] as Array<{ name: string }>;
    expect(vhosts.map((v) => v.name)).toContain('added.example.com');
  });

  it("shares http_server's port when its listen is the same: /api/ is the API, the rest static files", async () => {
    const base = `http://127.0.0.1:${shared.ports['http']}`;
    await writeFile(path.join(shared.dir, 'page.html'), '<p>static</p>');
    expect((await call(base, '/page.html')).text).toBe('<p>static</p>');
    expect((await call(base, '/api/v1/versions')).json).toMatchObject({ code: 0, pid: String(shared.pid) });
    expect((await call(base, '/api/v1/streams')).json).toMatchObject({ code: 0, streams: [] });
  });
});
