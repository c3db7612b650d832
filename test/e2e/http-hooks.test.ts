/**
 * http_hooks { } with a real HTTP hook server: SRS's bodies, the allow/deny rule (HTTP 200
 * with 0 or {"code":0}), token auth through `param`, notifications on leaving, on_hls, and
 * a hook server that hangs delaying only the client waiting on it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { httpStream } from '../support/http-stream.js';
import { startServer, type RunningServer } from '../support/server.js';

interface Call {
  path: string;
  body: Record<string, unknown>;
  at: number;
}

/** A hook server: records every call; answers by the stream's token or by path. */
class HookServer {
  readonly calls: Call[] = [];
  private server!: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(data || '{}') as Record<string, unknown>;
        const path = req.url ?? '';
        this.calls.push({ path, body, at: Date.now() });
        const param = String(body['param'] ?? '');
        if (path.startsWith('/hang')) return; // never answers
        if (path.startsWith('/status500')) {
          res.writeHead(500).end('0');
          return;
        }
        if (path.startsWith('/code1')) {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":1}');
          return;
        }
        if (param.includes('token=bad')) {
          res.writeHead(200).end('1');
          return;
        }
        // Alternate between SRS's two accepted answers.
        if (this.calls.length % 2 === 0) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":0,"data":null}');
        else res.writeHead(200).end('0');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  of(action: string, stream?: string): Call[] {
    return this.calls.filter((c) => c.body['action'] === action && (stream === undefined || c.body['stream'] === stream));
  }

  async waitFor(action: string, stream: string | undefined, timeoutMs = 10_000): Promise<Call> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const c = this.of(action, stream).at(-1);
      if (c) return c;
      if (Date.now() > until) throw new Error(`no ${action} for ${stream}; calls: ${JSON.stringify(this.calls.map((x) => x.body['action']))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const hooks = new HookServer();
let server: RunningServer;
let file = '';
const publishers: Publisher[] = [];

beforeAll(async () => {
  await hooks.start();
  file = await testMedia('h264-aac');
  const h = (p: string): string => hooks.url(p);
  server = await startServer({
    confText: `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
vhost __defaultVhost__ {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
  hls { enabled on; hls_fragment 1; hls_storage memory; }
  http_hooks {
    enabled on;
    on_connect ${h('/connect')};
    on_close ${h('/close')};
    on_publish ${h('/publish')} ${h('/publish2')};
    on_unpublish ${h('/unpublish')};
    on_play ${h('/play')};
    on_stop ${h('/stop')};
    on_hls ${h('/hls')};
  }
}
vhost fail500.com { http_hooks { enabled on; on_publish ${h('/status500')}; } }
vhost code1.com { http_hooks { enabled on; on_play ${h('/code1')}; } }
vhost nobody.com { http_hooks { enabled on; on_publish http://127.0.0.1:9/nothing-listens; } }
vhost slow.com { http_hooks { enabled on; timeout 2; on_publish ${h('/hang')}; } }
`,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
  await hooks.stop();
});

function start(url: string): Publisher {
  const p = publish(file, url, { loop: true, timeoutMs: 120_000 });
  publishers.push(p);
  return p;
}

describe('http_hooks', () => {
  it("allows a publish and a play that every hook accepts, with SRS's bodies and the token in param", async () => {
    const pub = start(`${server.url('live', 'cam')}?token=good`);
    await pub.ready;
    const connect = await hooks.waitFor('on_connect', undefined);
    expect(connect.body).toMatchObject({ action: 'on_connect', vhost: '__defaultVhost__', app: 'live', ip: '127.0.0.1' });
    expect(connect.body['tcUrl']).toBe(`rtmp://127.0.0.1:${server.port}/live`);
    const onPublish = await hooks.waitFor('on_publish', 'cam');
    expect(onPublish.body).toMatchObject({ app: 'live', stream: 'cam', param: '?token=good', stream_url: '/live/cam' });
    expect(onPublish.body['server_id']).toMatch(/^vid-[0-9a-z]{7}$/);
    expect(onPublish.body['service_id']).toMatch(/^[0-9a-z]{8}$/);
    expect(onPublish.body['client_id']).toMatch(/^\d+$/);
    // Both URLs of on_publish were called, in order.
    expect(hooks.calls.filter((c) => c.path.startsWith('/publish')).map((c) => c.path)).toEqual(['/publish', '/publish2']);

    const r = await probe(`${server.url('live', 'cam')}?token=viewer`);
    expect(r.streams.length).toBe(2);
    const onPlay = await hooks.waitFor('on_play', 'cam');
    expect(onPlay.body).toMatchObject({ stream: 'cam', param: '?token=viewer', pageUrl: '' });
    expect(onPlay.body['stream_id']).toMatch(/^vid-/);
    const onStop = await hooks.waitFor('on_stop', 'cam');
    expect(onStop.body['client_id']).toBe(onPlay.body['client_id']);
    const close = await hooks.waitFor('on_close', undefined);
    expect(typeof close.body['send_bytes']).toBe('number');
    expect(typeof close.body['recv_bytes']).toBe('number');
  }, 40_000);

  it('sends on_hls with the segment, and on_unpublish when the publisher leaves', async () => {
    const hls = await hooks.waitFor('on_hls', 'cam', 15_000);
    expect(hls.body).toMatchObject({ app: 'live', stream: 'cam', param: '?token=good', m3u8_url: 'live/cam.m3u8' });
    expect(hls.body['url']).toMatch(/^live\/cam-\d+\.ts$/);
    expect(hls.body['seq_no']).toEqual(expect.any(Number));
    expect(hls.body['duration']).toBeGreaterThan(0);
    const pub = publishers[0]!;
    await pub.stop();
    const un = await hooks.waitFor('on_unpublish', 'cam');
    expect(un.body['param']).toBe('?token=good');
  }, 30_000);

  it('refuses a publish or a play that a hook denies, with NetStream.*.Rejected and one log line', async () => {
    const bad = start(`${server.url('live', 'denied')}?token=bad`);
    await expect(bad.ready).rejects.toThrow();
    await server.waitForLog(/publish __defaultVhost__\/live\/denied refused by hook: on_publish http:\/\/127\.0\.0\.1:\d+\/publish: answer "1" is not 0/);
    const ok = start(server.url('live', 'open'));
    await ok.ready;
    await expect(probe(`${server.url('live', 'open')}?token=bad`, { timeoutMs: 8000 })).rejects.toThrow();
    await server.waitForLog(/play __defaultVhost__\/live\/open refused by hook/);
  }, 40_000);

  it('denies on HTTP 500, on {"code":1} and when the hook server is unreachable', async () => {
    const a = start(`rtmp://127.0.0.1:${server.port}/live?vhost=fail500.com/x`);
    await expect(a.ready).rejects.toThrow();
    await server.waitForLog(/refused by hook: on_publish .*\/status500: HTTP 500/);
    const b = start(`rtmp://127.0.0.1:${server.port}/live?vhost=nobody.com/x`);
    await expect(b.ready).rejects.toThrow();
    await server.waitForLog(/refused by hook: on_publish http:\/\/127\.0\.0\.1:9\/nothing-listens: /);
    const c = start(`rtmp://127.0.0.1:${server.port}/live?vhost=code1.com/y`);
    await c.ready;
    await expect(probe(`rtmp://127.0.0.1:${server.port}/live?vhost=code1.com/y`, { timeoutMs: 8000 })).rejects.toThrow();
    await server.waitForLog(/refused by hook: on_play .*\/code1: answer "\{\\"code\\":1\}"/);
  }, 60_000);

  it('lets other clients go on while a hook hangs, and denies the waiting one at the timeout', async () => {
    const started = Date.now();
    const slow = start(`rtmp://127.0.0.1:${server.port}/live?vhost=slow.com/s`);
    // While slow.com's hook hangs, another stream publishes and plays at once.
    const fast = start(server.url('live', 'fast'));
    await fast.ready;
    const r = await probe(server.url('live', 'fast'));
    expect(r.streams.length).toBe(2);
    expect(Date.now() - started).toBeLessThan(8000);
    await expect(slow.ready).rejects.toThrow();
    const line = await server.waitForLog(/slow\.com\/live\/s refused by hook: on_publish .*\/hang: no answer within 2000 ms/);
    expect(line).toBeTruthy();
  }, 40_000);

  it('asks on_play for HTTP-FLV players: 403 when denied, and on_stop when they leave', async () => {
    const http = `http://127.0.0.1:${server.ports['http']}`;
    // (Processes started by a test end with it: this test publishes its own stream.)
    const pub = start(server.url('live', 'fast'));
    await pub.ready;
    await new Promise((r) => setTimeout(r, 500));
    const ok = await httpStream(`${http}/live/fast.flv?token=v`, 2);
    expect(ok.status).toBe(200);
    const play = hooks.of('on_play', 'fast').find((c) => c.body['param'] === '?token=v');
    expect(play?.body).toMatchObject({ tcUrl: 'rtmp://__defaultVhost__/live', stream_url: '/live/fast' });
    await hooks.waitFor('on_stop', 'fast');
    const denied = await httpStream(`${http}/live/fast.flv?token=bad`, 2);
    expect(denied.status).toBe(403);
  }, 30_000);
});
