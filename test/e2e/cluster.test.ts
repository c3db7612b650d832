/**
 * cluster { mode remote; }: origin, edge and edge of edge on 127.0.0.1. Players of the edge
 * make it pull each stream once from the origin, shared, stopped after the last player
 * left; a publish to the edge reaches the origin; an origin killed mid-stream fails over
 * to the next one while the edge's player keeps playing; HTTP-FLV and WS-FLV players start
 * a pull too, and a pulled stream gets HLS on the edge; token_traverse lets the origin's
 * hooks see edge clients' tokens and refuse them before they get a frame.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVideoFrame, parseFlv, probe, publish, readFlvFile, recordFlv, type Publisher } from '../support/clients.js';
import { httpStream, wsStream } from '../support/http-stream.js';
import { testMedia } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { startServer, type RunningServer } from '../support/server.js';
import { RtmpClient, parseRtmpUrl } from '../../src/protocol/rtmp/client-session.js';

const conf = (vhost = '', extra = ''): string => `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
${extra}
vhost __defaultVhost__ {
${vhost}
}
`;
const edgeOf = (origins: string, more = '', vhost = '', extra = ''): string => conf(`cluster { mode remote; origin ${origins}; ${more} }\n${vhost}`, extra);
/** An HTTP server on {{port:http}} serving HTTP-FLV and WS-FLV (and HLS from {{dir}}). */
const HTTP_SERVER = 'http_server { enabled on; listen {{port:http}}; dir {{dir}}; }';
const HTTP_REMUX = 'http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }';

function tracks(r: Awaited<ReturnType<typeof probe>>): string[] {
  return r.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
}

function count(server: RunningServer, re: RegExp): number {
  return server.logs.filter((l) => re.test(l)).length;
}

let file = '';
beforeAll(async () => {
  file = await testMedia('h264-aac');
});

describe('origin, edge and edge of edge', () => {
  let origin: RunningServer;
  let edge: RunningServer;
  let edge2: RunningServer;
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    origin = await startServer({ confText: conf() });
    edge = await startServer({ confText: edgeOf(`127.0.0.1:${origin.port}`) });
    edge2 = await startServer({ confText: edgeOf(`127.0.0.1:${edge.port}`) });
    for (const name of ['s', 'shared']) {
      const p = publish(file, origin.url('live', name), { loop: true });
      publishers.push(p);
      await p.ready;
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all([edge2?.stop(), edge?.stop(), origin?.stop()]);
  });

  it('plays a stream of the origin from the edge', async () => {
    expect(tracks(await probe(edge.url('live', 's')))).toEqual(['audio:aac', 'video:h264']);
    await edge.waitForLog(/edge pull live\/s from rtmp:\/\/127\.0\.0\.1:\d+\/live\/s playing/);
  }, 30_000);

  let sharedLeftAt = 0;

  it('shares one pull between the players of a stream', async () => {
    const dir = edge.dir;
    await Promise.all([
      recordFlv(edge.url('live', 'shared'), path.join(dir, 'p1.flv'), { seconds: 3 }),
      recordFlv(edge.url('live', 'shared'), path.join(dir, 'p2.flv'), { seconds: 3 }),
    ]);
    const [a, b] = await Promise.all([readFlvFile(path.join(dir, 'p1.flv')), readFlvFile(path.join(dir, 'p2.flv'))]);
    expect(a.tags.filter(isVideoFrame).length).toBeGreaterThan(40);
    expect(b.tags.filter(isVideoFrame).length).toBeGreaterThan(40);
    // The origin saw one client for the stream: the edge's pull.
    expect(count(origin, /play __defaultVhost__\/live\/shared\b/)).toBe(1);
    expect(count(edge, /edge pull __defaultVhost__\/live\/shared from /)).toBe(1);
    sharedLeftAt = Date.now();
  }, 30_000);

  it('plays from the edge of the edge (three levels)', async () => {
    const before = count(edge, /rtmp 127\.0\.0\.1:\d+ play __defaultVhost__\/live\/s\b/);
    expect(tracks(await probe(edge2.url('live', 's')))).toEqual(['audio:aac', 'video:h264']);
    // The edge of edge pulled from the edge, which pulled from the origin.
    await edge2.waitForLog(new RegExp(`edge pull live/s from rtmp://127\\.0\\.0\\.1:${edge.port}/live/s playing`));
    expect(count(edge, /rtmp 127\.0\.0\.1:\d+ play __defaultVhost__\/live\/s\b/)).toBe(before + 1);
  }, 30_000);

  it('pushes a publish to the edge on to the origin', async () => {
    const p = publish(file, edge.url('live', 'up'), { loop: true });
    publishers.push(p);
    await p.ready;
    await edge.waitForLog(/edge push __defaultVhost__\/live\/up to rtmp:\/\/127\.0\.0\.1:\d+\/live\/up started/);
    expect(tracks(await probe(origin.url('live', 'up')))).toEqual(['audio:aac', 'video:h264']);
    // Players of the edge play it there, without a pull.
    expect(tracks(await probe(edge.url('live', 'up')))).toEqual(['audio:aac', 'video:h264']);
    expect(count(edge, /edge pull __defaultVhost__\/live\/up/)).toBe(0);
  }, 30_000);

  // Last, so that the tests above run while the pull of live/shared lingers.
  it('stops a pull 10 s after its last player left', async () => {
    expect(sharedLeftAt).toBeGreaterThan(0);
    const line = await edge.waitForLog(/edge pull live\/shared from 127\.0\.0\.1:\d+ stopped/, 20_000);
    expect(Date.now() - sharedLeftAt).toBeGreaterThanOrEqual(9_000);
    expect(line).toBeTruthy();
    await origin.waitForLog(/rtmp 127\.0\.0\.1:\d+ disconnected after \d+\.\ds, in \d+ B, out [1-9]\d{5,} B/);
  }, 30_000);
});

describe('HTTP players and outputs of an edge', () => {
  let origin: RunningServer;
  let edge: RunningServer;
  let pub: Publisher;
  const httpUrl = (p: string): string => `http://127.0.0.1:${edge.ports['http']}${p}`;

  beforeAll(async () => {
    origin = await startServer({ confText: conf() });
    edge = await startServer({
      confText: edgeOf(`127.0.0.1:${origin.port}`, '', `${HTTP_REMUX}\nhls { enabled on; hls_path {{dir}}; hls_fragment 1; hls_window 6; }`, HTTP_SERVER),
    });
    pub = publish(file, origin.url('live', 'h'), { loop: true });
    await pub.ready;
  }, 60_000);

  afterAll(async () => {
    await pub?.stop();
    await Promise.all([edge?.stop(), origin?.stop()]);
  });

  it('pulls a stream for an HTTP-FLV player, and a WS-FLV player shares the pull', async () => {
    expect(tracks(await probe(httpUrl('/live/h.flv')))).toEqual(['audio:aac', 'video:h264']);
    await edge.waitForLog(/edge pull live\/h from rtmp:\/\/127\.0\.0\.1:\d+\/live\/h playing/);
    const ws = await wsStream(`ws://127.0.0.1:${edge.ports['http']}/live/h.flv`, 3);
    expect(parseFlv(ws.body).tags.filter(isVideoFrame).length).toBeGreaterThan(20);
    expect(count(origin, /play __defaultVhost__\/live\/h\b/)).toBe(1);
  }, 40_000);

  it('makes HLS of the stream it pulls, as SRS\'s edge does', async () => {
    // A player keeps the pull up while the segmenter works.
    const http = httpStream(httpUrl('/live/h.flv'), 8);
    for (const until = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 250))) {
      const r = await fetch(httpUrl('/live/h.m3u8')).catch(() => null);
      if (r?.status === 200 && (await r.text()).includes('.ts')) break;
      if (Date.now() > until) throw new Error('no HLS playlist of the pulled stream on the edge');
    }
    expect(tracks(await probe(httpUrl('/live/h.m3u8')))).toEqual(['audio:aac', 'video:h264']);
    expect((await http).status).toBe(200);
  }, 40_000);
});

describe('edge failover', () => {
  it('goes on playing from the next origin when the first one is killed mid-stream', async () => {
    const down = await freePort();
    const [o1, o2] = await Promise.all([startServer({ confText: conf() }), startServer({ confText: conf() })]);
    // The first origin of the list is down from the start; then o1 serves, then o2.
    const edge = await startServer({ confText: edgeOf(`127.0.0.1:${down} 127.0.0.1:${o1.port} 127.0.0.1:${o2.port}`) });
    try {
      await Promise.all(
        [o1, o2].map(async (o) => {
          const p = publish(file, o.url('live', 'f'), { loop: true });
          await p.ready;
        }),
      );
      const out = path.join(edge.dir, 'failover.flv');
      const recording = recordFlv(edge.url('live', 'f'), out, { seconds: 10, timeoutMs: 40_000 });
      await edge.waitForLog(new RegExp(`edge pull live/f from rtmp://127\\.0\\.0\\.1:${o1.port}/live/f playing`), 15_000);
      await new Promise((r) => setTimeout(r, 3000));
      await o1.kill();
      await edge.waitForLog(new RegExp(`edge pull live/f from rtmp://127\\.0\\.0\\.1:${o2.port}/live/f playing`), 15_000);
      await recording;
      const video = (await readFlvFile(out)).tags.filter(isVideoFrame).map((t) => t.timestamp);
      // 10 s of media, continuous in time: frames up to the end, no step back.
      expect(video.at(-1)!).toBeGreaterThan(9_000);
      for (let i = 1; i < video.length; i++) expect(video[i]!).toBeGreaterThanOrEqual(video[i - 1]!);
      expect(count(edge, /edge pull live\/f from 127\.0\.0\.1:\d+ lost/)).toBe(1);
    } finally {
      await Promise.all([edge.stop(), o1.stop(), o2.stop()]);
    }
  }, 60_000);
});

describe('a hostile origin', () => {
  it('fails over from an origin that answers with garbage, and keeps serving the player', async () => {
    // Accepts, sends 8 KB of random bytes (no valid handshake) and then nothing, keeping the socket.
    const sockets = new Set<net.Socket>();
    const hostile = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
      socket.write(crypto.randomBytes(8192));
    });
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
    const hostilePort = (hostile.address() as AddressInfo).port;
    const origin = await startServer({ confText: conf() });
    const edge = await startServer({ confText: edgeOf(`127.0.0.1:${hostilePort} 127.0.0.1:${origin.port}`) });
    try {
      const p = publish(file, origin.url('live', 'h'), { loop: true });
      await p.ready;
      expect(tracks(await probe(edge.url('live', 'h')))).toEqual(['audio:aac', 'video:h264']);
      await edge.waitForLog(new RegExp(`edge pull live/h from 127\\.0\\.0\\.1:${hostilePort} failed: `));
      await edge.waitForLog(new RegExp(`edge pull live/h from rtmp://127\\.0\\.0\\.1:${origin.port}/live/h playing`));
      // The edge is still whole: a second player of another stream is served too.
      const p2 = publish(file, origin.url('live', 'h2'), { loop: true });
      await p2.ready;
      expect(tracks(await probe(edge.url('live', 'h2')))).toEqual(['audio:aac', 'video:h264']);
      await Promise.all([p.stop(), p2.stop()]);
    } finally {
      for (const s of sockets) s.destroy();
      hostile.close();
      await Promise.all([edge.stop(), origin.stop()]);
    }
  }, 60_000);
});

/** A hook server that records calls and denies `token=bad`. */
class HookServer {
  readonly calls: Array<{ path: string; body: Record<string, unknown> }> = [];
  private server!: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(data || '{}') as Record<string, unknown>;
        this.calls.push({ path: req.url ?? '', body });
        res.writeHead(200).end(String(body['param'] ?? '').includes('token=bad') || String(body['tcUrl'] ?? '').includes('token=bad') ? '1' : '0');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  of(action: string, stream?: string): Array<Record<string, unknown>> {
    return this.calls.map((c) => c.body).filter((b) => b['action'] === action && (stream === undefined || b['stream'] === stream));
  }

  async waitFor(action: string, stream: string | undefined, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    for (const until = Date.now() + timeoutMs; ; ) {
      const c = this.of(action, stream).at(-1);
      if (c) return c;
      if (Date.now() > until) throw new Error(`no ${action} for ${stream}: ${JSON.stringify(this.calls.map((x) => x.body['action']))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('token_traverse', () => {
  const hooks = new HookServer();
  let origin: RunningServer;
  let edge: RunningServer;

  beforeAll(async () => {
    await hooks.start();
    const h = (p: string): string => `http://127.0.0.1:${hooks.port}${p}`;
    origin = await startServer({
      confText: conf(`http_hooks { enabled on; on_connect ${h('/connect')}; on_play ${h('/play')}; on_publish ${h('/publish')}; }`),
    });
    edge = await startServer({ confText: edgeOf(`127.0.0.1:${origin.port}`, 'token_traverse on;', HTTP_REMUX, HTTP_SERVER) });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([edge?.stop(), origin?.stop()]);
    await hooks.stop();
  });

  it("passes an edge player's token to the origin's hooks, and closes one the origin refuses", async () => {
    const pub = publish(file, `${origin.url('live', 'tt')}?token=publisher`, { loop: true });
    await pub.ready;
    expect(tracks(await probe(`${edge.url('live', 'tt')}?token=good`))).toEqual(['audio:aac', 'video:h264']);
    // The pull carries the player's param: the origin's on_play sees the token.
    expect(await hooks.waitFor('on_play', 'tt')).toMatchObject({ param: '?token=good', app: 'live' });
    // token_traverse: the player's own connect to the origin, with its token.
    expect(hooks.of('on_connect').some((b) => String(b['tcUrl']).includes('token=good'))).toBe(true);

    // A player the origin refuses is refused before its play starts: not a frame.
    const bad = new RtmpClient(parseRtmpUrl(`${edge.url('live', 'tt')}?token=bad`));
    let media = 0;
    bad.on('media', () => media++);
    try {
      await bad.connect();
      await expect(bad.play(await bad.createStream())).rejects.toThrow(/NetStream\.Play\.Rejected/);
    } finally {
      bad.close();
    }
    expect(media).toBe(0);
    await edge.waitForLog(/play __defaultVhost__\/live\/tt refused by origin: token_traverse: origin 127\.0\.0\.1:\d+ refused/);

    // HTTP-FLV players are asked about too.
    const http = `http://127.0.0.1:${edge.ports['http']}/live/tt.flv`;
    const denied = await httpStream(`${http}?token=bad`, 2);
    expect(denied.status).toBe(403);
    expect(denied.body.toString()).toContain('denied by the origin');
    const allowed = await httpStream(`${http}?token=good`, 3);
    expect(allowed.status).toBe(200);
    expect(parseFlv(allowed.body).tags.filter(isVideoFrame).length).toBeGreaterThan(10);
  }, 40_000);

  it("passes an edge publisher's token to the origin's on_publish, and closes one it refuses", async () => {
    const ok = publish(file, `${edge.url('live', 'tp')}?token=good`, { loop: true });
    await ok.ready;
    expect(await hooks.waitFor('on_publish', 'tp')).toMatchObject({ param: '?token=good' });
    expect(tracks(await probe(origin.url('live', 'tp')))).toEqual(['audio:aac', 'video:h264']);

    const bad = publish(file, `${edge.url('live', 'tq')}?token=bad`, { loop: true });
    await bad.exited;
    await edge.waitForLog(/publish __defaultVhost__\/live\/tq refused by origin: token_traverse: origin 127\.0\.0\.1:\d+ refused/);
  }, 40_000);
});
