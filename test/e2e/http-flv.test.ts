/**
 * HTTP-FLV and WebSocket-FLV (http_remux): played by ffprobe and by raw HTTP/WebSocket
 * readers while ffmpeg publishes; mounts by path and by Host; 404 and 403; a player that
 * never reads does not disturb one that does.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { parseFlv } from '../support/flv.js';
import { httpStream, wsStream } from '../support/http-stream.js';
import { startServer, type RunningServer } from '../support/server.js';

const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
vhost __defaultVhost__ {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
}
vhost flv.example.com {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; has_audio off; }
}
vhost closed.example.com {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
  security { enabled on; deny play all; allow publish all; }
}
`;

let server: RunningServer;
let publishers: Publisher[] = [];
let http = '';

beforeAll(async () => {
  server = await startServer({ confText: CONF });
  http = `http://127.0.0.1:${server.ports['http']}`;
  const file = await testMedia('h264-aac');
  publishers = [
    publish(file, server.url('live', 'flv'), { loop: true, timeoutMs: 300_000 }),
    publish(file, `rtmp://127.0.0.1:${server.port}/live?vhost=flv.example.com/named`, { loop: true, timeoutMs: 300_000 }),
    publish(file, `rtmp://127.0.0.1:${server.port}/live?vhost=closed.example.com/closed`, { loop: true, timeoutMs: 300_000 }),
  ];
  await Promise.all(publishers.map((p) => p.ready));
  // Past the first keyframe, so the GOP cache is filled.
  await new Promise((r) => setTimeout(r, 1500));
}, 60_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

describe('HTTP-FLV', () => {
  it('is played by ffprobe with both tracks', async () => {
    const r = await probe(`${http}/live/flv.flv`);
    expect(r.format.format_name).toBe('flv');
    expect(r.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('sends the FLV header, metadata, sequence headers and a keyframe first, then live tags in order', async () => {
    const r = await httpStream(`${http}/live/flv.flv`, 3);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('video/x-flv');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.closedByServer).toBe(false);
    const flv = parseFlv(r.body);
    expect(flv.header.hasAudio).toBe(true);
    expect(flv.header.hasVideo).toBe(true);
    const [meta, a, b, c] = flv.tags;
    expect(meta?.scriptName).toBe('onMetaData');
    expect([a, b].every((t) => t?.isSequenceHeader)).toBe(true);
    expect(c?.type === 'video' ? c.keyframe : true).toBe(true);
    const video = flv.tags.filter((t) => t.type === 'video' && !t.isSequenceHeader);
    // About 3 s at 25 fps, plus the cached GOP.
    expect(video.length).toBeGreaterThan(60);
    for (let i = 1; i < video.length; i++) expect(video[i]!.timestamp).toBeGreaterThanOrEqual(video[i - 1]!.timestamp);
  });

  it('finds a named vhost by the Host header or by its name in the path, with its own header flags', async () => {
    const byHost = await httpStream(`${http}/live/named.flv`, 1.5, { Host: `flv.example.com:${server.ports['http']}` });
    expect(byHost.status).toBe(200);
    const flv = parseFlv(byHost.body);
    expect(flv.header.hasAudio).toBe(false);
    expect(flv.tags.length).toBeGreaterThan(10);
    const byPath = await httpStream(`${http}/flv.example.com/live/named.flv`, 1.5);
    expect(byPath.status).toBe(200);
    // Without the vhost, the default vhost has no stream "named".
    expect((await httpStream(`${http}/live/named.flv`, 1.5)).status).toBe(404);
  });

  it('answers 404 for a stream nobody publishes and 403 when the vhost denies playing', async () => {
    const none = await httpStream(`${http}/live/nobody.flv`, 2);
    expect(none.status).toBe(404);
    const denied = await httpStream(`${http}/live/closed.flv`, 2, { Host: 'closed.example.com' });
    expect(denied.status).toBe(403);
    await server.waitForLog(/http-flv .* play closed\.example\.com\/live\/closed refused/);
  });

  it('keeps a reading player flowing while another never reads, and drops the stuck one to keyframes', async () => {
    // A player that asks and then never reads: its socket fills, the server must not wait for it.
    const stuck = net.connect(server.ports['http']!, '127.0.0.1');
    stuck.on('error', () => {});
    await new Promise<void>((r) => stuck.on('connect', () => r()));
    stuck.write(`GET /live/flv.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    stuck.pause();
    const watched = await httpStream(`${http}/live/flv.flv`, 6);
    stuck.destroy();
    const video = parseFlv(watched.body).tags.filter((t) => t.type === 'video' && !t.isSequenceHeader);
    expect(video.length).toBeGreaterThan(140);
    let worst = 0;
    for (let i = 1; i < video.length; i++) worst = Math.max(worst, video[i]!.timestamp - video[i - 1]!.timestamp);
    expect(worst).toBeLessThan(200);
  }, 20_000);

  it('serves fifty players at once, each receiving the stream', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => httpStream(`${http}/live/flv.flv`, 3)));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(parseFlv(r.body).tags.filter((t) => t.type === 'video').length).toBeGreaterThan(50);
    }
  }, 20_000);
});

/** Sends raw bytes on a new connection and waits for the server to answer or close. */
function hostile(port: number, bytes: Buffer | string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    const done = (): void => {
      socket.destroy();
      resolve(got);
    };
    socket.on('close', done);
    setTimeout(done, waitMs);
  });
}

describe('HTTP-FLV under hostile input', () => {
  it('answers or drops malformed requests and WebSocket abuse while a player keeps playing', async () => {
    const port = server.ports['http']!;
    const watching = httpStream(`${http}/live/flv.flv`, 6);
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const upgrade = `GET /live/flv.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    // A masked client frame claiming 1 MiB, over the 16 KiB limit.
    const bigFrame = Buffer.concat([Buffer.from([0x82, 0xff]), Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0]), Buffer.alloc(4), Buffer.alloc(2000)]);
    const answers = await Promise.all([
      hostile(port, 'NOT HTTP AT ALL\r\n\r\n'),
      hostile(port, `GET /live/flv.flv HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`),
      hostile(port, `GET /${'a/'.repeat(5000)}x.flv HTTP/1.1\r\nHost: x\r\n\r\n`),
      hostile(port, Buffer.concat([Buffer.from(upgrade), bigFrame])),
      hostile(port, Buffer.concat([Buffer.from(upgrade), Buffer.from([0x82, 0x05, 1, 2, 3, 4, 5])])), // unmasked: a protocol error
      hostile(port, Buffer.alloc(100_000, 0xff)),
    ]);
    for (const [i, a] of answers.entries()) expect(a.startsWith("HTTP/1.1 200") && !a.includes("Upgrade"), `${i}: ${a.slice(0, 80)}`).toBe(false);
    const tags = parseFlv((await watching).body).tags.filter((t) => t.type === 'video');
    expect(tags.length).toBeGreaterThan(140);
    // Still serving new players.
    expect((await httpStream(`${http}/live/flv.flv`, 1)).status).toBe(200);
  }, 20_000);
});

describe('HTTP-FLV limits', () => {
  it('counts HTTP-FLV players against max_connections, answering 503 past it', async () => {
    const small = await startServer({
      confText: CONF.replace('daemon off;', 'daemon off;\nmax_connections 3;'),
    });
    const pub = publish(await testMedia('h264-aac'), small.url('live', 'few'), { loop: true, timeoutMs: 60_000 });
    try {
      await pub.ready;
      const url = `http://127.0.0.1:${small.ports['http']}/live/few.flv`;
      // The publisher is one connection: two players fit, the third does not.
      const held = [httpStream(url, 3), httpStream(url, 3)];
      await new Promise((r) => setTimeout(r, 500));
      const third = await httpStream(url, 1);
      expect(third.status).toBe(503);
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      await small.waitForLog(/refused: max_connections 3 reached/);
    } finally {
      await pub.stop();
      await small.stop();
    }
  }, 30_000);
});

describe('WebSocket-FLV', () => {
  it('sends the same FLV over a WebSocket on the same mount', async () => {
    const r = await wsStream(`ws://127.0.0.1:${server.ports['http']}/live/flv.flv`, 3);
    expect(r.status).toBe(101);
    const flv = parseFlv(r.body);
    expect(flv.tags[0]?.scriptName).toBe('onMetaData');
    expect(flv.tags.filter((t) => t.type === 'video').length).toBeGreaterThan(60);
    expect(flv.tags.filter((t) => t.type === 'audio').length).toBeGreaterThan(60);
  });

  it('refuses an upgrade for a stream nobody publishes', async () => {
    const r = await wsStream(`ws://127.0.0.1:${server.ports['http']}/live/nobody.flv`, 2);
    expect(r.status).toBe(404);
  });
});
