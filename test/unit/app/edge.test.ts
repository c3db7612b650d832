/**
 * EdgeService and EdgeIngester against real in-process origins: one pull shared by the
 * players of a stream and stopped after the last one left, failover over the origin list
 * with the players' timestamps going on, a pulled stream announced to the server's outputs,
 * and token_traverse's admission.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeService, type EdgeHost } from '../../../src/app/edge-service.js';
import type { RtmpServer } from '../../../src/app/rtmp-server.js';
import type { PlayContext, PublishContext } from '../../../src/app/stream-observer.js';
import type { VhostConfig } from '../../../src/conf/config.js';
import type { Source } from '../../../src/stream/source.js';
import { EdgeIngester } from '../../../src/outputs/forward/edge-ingester.js';
import { StreamRegistry } from '../../../src/stream/stream-registry.js';
import { freePort } from '../../support/ports.js';
import { PLAY, RecordingPlayer, config, livePublisher, rtmpServer, until } from './forward-peers.js';

const servers: RtmpServer[] = [];
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function origin(stream: string, t0 = 0): Promise<{ server: RtmpServer; port: number }> {
  const o = await rtmpServer();
  servers.push(o.server);
  const pub = await livePublisher(`rtmp://127.0.0.1:${o.port}/live/${stream}`, t0);
  stops.push(() => pub.stop());
  return o;
}

function playersOf(server: RtmpServer): number {
  return [...server.connections()].filter(([c]) => c.role === 'play').length;
}

/** An EdgeHost over `registry` that records what the edge announces. */
function hostOf(registry: StreamRegistry): EdgeHost & { announced: Array<[string, Source, PublishContext?]> } {
  const announced: Array<[string, Source, PublishContext?]> = [];
  return {
    registry,
    serverId: 'vid-edge001',
    connectOf: () => undefined,
    published: (source, _vhost, ctx) => announced.push(['published', source, ctx]),
    unpublished: (source) => announced.push(['unpublished', source]),
    announced,
  };
}

function play(vhost: VhostConfig, id: number, closed: string[] = [], connect?: PlayContext['connect']): PlayContext {
  return {
    client: { id, ip: '127.0.0.1', vhost, app: 'live', tcUrl: 'rtmp://127.0.0.1/live', pageUrl: '' },
    stream: { stream: 'cam', param: `?token=${id}` },
    ...(connect ? { connect } : {}),
    close: (reason) => closed.push(reason),
  };
}

describe('EdgeService', () => {
  it('pulls a stream once for all its players, and stops the pull after the last one left', async () => {
    const o = await origin('cam');
    const down = await freePort();
    const c = config(`listen 1935;\nvhost __defaultVhost__ { cluster { mode remote; origin 127.0.0.1:${down} 127.0.0.1:${o.port}; } }`);
    const vhost = c.vhosts.get('__defaultVhost__')!;
    const registry = new StreamRegistry();
    const host = hostOf(registry);
    const edge = new EdgeService(host, c, 200);
    stops.push(() => edge.stop());
    const source = registry.acquire(vhost.name, 'live', 'cam', PLAY);
    const p1 = new RecordingPlayer();
    const p2 = new RecordingPlayer();
    source.addConsumer(p1);
    edge.playStarted(source, vhost, play(vhost, 1));
    source.addConsumer(p2);
    edge.playStarted(source, vhost, play(vhost, 2));
    expect(edge.pullCount).toBe(1);
    await until('both players to get video', () => p1.video.length > 5 && p2.video.length > 5);
    expect(source.publisher?.id).toBe(edge.pullOf(source.key)!.ref.id);
    expect(source.videoSequenceHeader).not.toBeNull();
    // The pull's publish was announced to the server's outputs (HLS, DVR, forward...), once.
    expect(host.announced.map(([e]) => e)).toEqual(['published']);
    const ctx = host.announced[0]![2]!;
    expect(ctx.pulledFrom).toBe(`127.0.0.1:${o.port}`);
    expect(ctx.client.id).toBe(edge.pullOf(source.key)!.ref.id);
    expect(ctx.stream.stream).toBe('cam');
    // The edge itself does not push what it pulls back to the origin.
    edge.published(source, vhost, ctx);
    expect(edge.pullCount).toBe(1);
    expect(playersOf(o.server)).toBe(1);
    // The pull carried a player's param to the origin (the newest one's, after a failed attempt).
    const [conn] = [...o.server.connections()].find(([c]) => c.role === 'play')!;
    expect([...conn.streams()][0]).toMatchObject({ kind: 'play', param: expect.stringMatching(/^\?token=[12]$/) });

    source.removeConsumer(p1);
    edge.playStopped(source);
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.pullCount).toBe(1); // one player is left
    source.removeConsumer(p2);
    edge.playStopped(source);
    expect(edge.pullCount).toBe(1); // not at once: EDGE_LINGER_MS
    await until('the pull to stop', () => edge.pullCount === 0);
    expect(source.publisher).toBeNull();
    expect(host.announced.map(([e, s]) => [e, s])).toEqual([['published', source], ['unpublished', source]]);
    expect(registry.size).toBe(0);
    await until('the origin to lose its player', () => playersOf(o.server) === 0);
  });

  it('asks the origin before a client of a token_traverse edge goes on, and nothing elsewhere', async () => {
    const down = await freePort();
    const registry = new StreamRegistry();
    const c = config(`listen 1935;\nvhost __defaultVhost__ { cluster { mode remote; origin 127.0.0.1:${down}; token_traverse on; } }\nvhost plain { cluster { mode remote; origin 127.0.0.1:${down}; } }`);
    const edge = new EdgeService(hostOf(registry), c);
    const tt = c.vhosts.get('__defaultVhost__')!;
    const plain = c.vhosts.get('plain')!;
    const who = (vhost: VhostConfig) => ({ kind: 'play' as const, client: play(vhost, 5).client, stream: { stream: 'cam', param: '?token=x' } });
    expect(edge.admit(plain, who(plain))).toBeNull();
    // No origin answers: refused, as SRS's "Illegal edge token".
    const d = await edge.admit(tt, who(tt));
    expect(d).toMatchObject({ allowed: false, by: 'origin', reason: expect.stringMatching(/^token_traverse: no origin answered/) });
    const o = await rtmpServer();
    servers.push(o.server);
    const up = config(`listen 1935;\nvhost __defaultVhost__ { cluster { mode remote; origin 127.0.0.1:${o.port}; token_traverse on; } }`);
    edge.reload(up);
    expect(await edge.admit(up.vhosts.get('__defaultVhost__')!, who(up.vhosts.get('__defaultVhost__')!))).toEqual({ allowed: true, reason: '' });
    expect(edge.pullCount).toBe(0);
  });

  it('shares one origin check among clients asking the same, and runs at most 32 at once', async () => {
    const o = await rtmpServer();
    servers.push(o.server);
    const registry = new StreamRegistry();
    const c = config(`listen 1935;\nvhost __defaultVhost__ { cluster { mode remote; origin 127.0.0.1:${o.port}; token_traverse on; } }`);
    const vhost = c.vhosts.get('__defaultVhost__')!;
    const edge = new EdgeService(hostOf(registry), c);
    const who = (token: string) => ({ kind: 'play' as const, client: play(vhost, 6).client, stream: { stream: 'cam', param: `?token=${token}` } });
    const same = await Promise.all(Array.from({ length: 20 }, () => edge.admit(vhost, who('same'))));
    expect(same.every((d) => d?.allowed)).toBe(true);
    expect(o.server.acceptedTotal).toBe(1);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, edge.traverseChecks)), 1);
    const distinct = await Promise.all(Array.from({ length: 100 }, (_, i) => edge.admit(vhost, who(`t${i}`))));
    clearInterval(watch);
    expect(distinct.every((d) => d?.allowed)).toBe(true);
    expect(o.server.acceptedTotal).toBe(101);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(32);
  }, 20_000);

  it('does nothing on a vhost that is not an edge', () => {
    const c = config('listen 1935;\nvhost __defaultVhost__ { }');
    const vhost = c.vhosts.get('__defaultVhost__')!;
    const registry = new StreamRegistry();
    const edge = new EdgeService(hostOf(registry), c);
    edge.playStarted(registry.acquire(vhost.name, 'live', 'cam', PLAY), vhost, play(vhost, 4));
    expect(edge.pullCount).toBe(0);
  });
});

describe('EdgeIngester', () => {
  it('fails over to the next origin when one goes, and keeps timestamps going forwards', async () => {
    // The two origins' clocks are far apart; the edge's Source does no jitter correction.
    const o1 = await origin('cam', 0);
    const o2 = await origin('cam', 500_000);
    const registry = new StreamRegistry();
    const play = { ...PLAY, timeJitter: 'off' as const };
    const source = registry.acquire('__defaultVhost__', 'live', 'cam', play);
    const player = new RecordingPlayer();
    source.addConsumer(player);
    const ingester = new EdgeIngester(77, {
      origins: [`127.0.0.1:${o1.port}`, `127.0.0.1:${o2.port}`],
      vhost: '',
      app: 'live',
      stream: 'cam',
      param: '',
      chunkSize: 4096,
      acquire: () => registry.acquire('__defaultVhost__', 'live', 'cam', play),
      release: (s) => registry.release(s),
    });
    stops.push(() => ingester.stop());
    ingester.start();
    await until('media from the first origin', () => player.video.length > 10);
    await o1.server.stop();
    const before = player.video.length;
    await until('media from the second origin', () => player.video.length > before + 10 && ingester.origin.endsWith(`:${o2.port}`));
    // Players never saw the stream end, and time never went back nor jumped.
    expect(player.unpublishes).toBe(0);
    const ts = player.video.map((m) => m.timestamp);
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i]!).toBeGreaterThanOrEqual(ts[i - 1]!);
      expect(ts[i]! - ts[i - 1]!).toBeLessThan(1000);
    }
    expect(ingester.connectionsWithMedia).toBe(2);
  });
});
