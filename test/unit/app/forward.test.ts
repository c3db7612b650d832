/**
 * Forwarding: the retry schedule, SRS's upstream URL, the identity and loop checks carried
 * in connect, an RtmpForwarder against a real in-process server (metadata and sequence
 * headers first, and again after the destination restarts), and ForwardService's refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardService } from '../../../src/app/forward-service.js';
import type { RtmpServer } from '../../../src/app/rtmp-server.js';
import type { PublishContext } from '../../../src/app/stream-observer.js';
import { RtmpForwarder } from "../../../src/outputs/forward/rtmp-forwarder.js";
import { retryDelay, upstreamUrl } from "../../../src/outputs/forward/upstream.js";
import {
  MAX_HOPS,
  connectIdentity,
  identityOf,
  isOwnEndpoint,
  isSenderEndpoint,
  loopReason,
  parseEndpoint,
} from '../../../src/outputs/forward/upstream-identity.js';
import { Source } from '../../../src/stream/source.js';
import { PLAY, config, feed, rtmpServer, until } from './forward-peers.js';

describe('retryDelay', () => {
  it('backs off 1 s doubling to 30 s with one destination', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, 1))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('tries every endpoint at once before backing off', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 3))).toEqual([0, 0, 1000, 0, 0, 2000]);
  });
});

describe('upstreamUrl', () => {
  it('names the vhost in the app query and keeps the param on the stream, as SRS', () => {
    expect(upstreamUrl('10.0.0.1:19350', 'a.com', 'live', 'cam', '?token=1')).toEqual({
      host: '10.0.0.1',
      port: 19350,
      app: 'live?vhost=a.com',
      stream: 'cam?token=1',
      tcUrl: 'rtmp://10.0.0.1:19350/live?vhost=a.com',
      query: 'token=1',
    });
  });
  it('names no vhost for the default one, defaults the port, and brackets IPv6', () => {
    expect(upstreamUrl('origin.example', '', 'live', 'cam', '')).toMatchObject({ port: 1935, app: 'live', stream: 'cam', tcUrl: 'rtmp://origin.example:1935/live' });
    expect(upstreamUrl('[::1]:1936', '', 'live', 'cam', '')).toMatchObject({ host: '::1', port: 1936, tcUrl: 'rtmp://[::1]:1936/live' });
    expect(parseEndpoint('[::1]')).toEqual({ host: '::1', port: 1935 });
  });
});

describe('upstream identity', () => {
  it('carries the path so far plus this server, and SRS identity args', () => {
    const first = connectIdentity(null, [1935], 'vid-aaaaaaa');
    expect(first.connectProperties).toEqual({ sluice_server: 'vid-aaaaaaa', sluice_hops: 'vid-aaaaaaa', sluice_rtmp_ports: '1935' });
    expect(first.connectArgs).toMatchObject({ srs_id: 'vid-aaaaaaa', srs_pid: process.pid });
    const second = connectIdentity(identityOf(first.connectProperties), [19350, 19351], 'vid-bbbbbbb');
    expect(identityOf(second.connectProperties)).toEqual({ server: 'vid-bbbbbbb', hops: ['vid-aaaaaaa', 'vid-bbbbbbb'], ports: [19350, 19351] });
  });

  it('sees no identity in a client connect, and finds this server in a path', () => {
    expect(identityOf({ app: 'live', tcUrl: 'rtmp://x/live' })).toBeNull();
    expect(loopReason(null, 'vid-a')).toBeNull();
    const id = identityOf({ sluice_server: 'vid-b', sluice_hops: 'vid-a,vid-b' });
    expect(loopReason(id, 'vid-c')).toBeNull();
    expect(loopReason(id, 'vid-a')).toMatch(/^dead loop: the stream already passed through this server \(vid-a\); its path is vid-a -> vid-b$/);
    const long = identityOf({ sluice_server: 'x', sluice_hops: Array.from({ length: MAX_HOPS }, (_, i) => `vid-${i}`).join(',') });
    expect(loopReason(long, 'vid-z')).toMatch(/passed through 16 servers/);
  });

  it("knows this server's own addresses, and the sender's", async () => {
    const listen = [{ host: '0.0.0.0', port: 1935 }];
    expect(await isOwnEndpoint('127.0.0.1:1935', listen)).toBe(true);
    expect(await isOwnEndpoint('localhost', listen)).toBe(true);
    expect(await isOwnEndpoint('127.0.0.1:1936', listen)).toBe(false);
    expect(await isOwnEndpoint('192.0.2.1:1935', listen)).toBe(false);
    expect(await isOwnEndpoint('127.0.0.1:1935', [{ host: '192.0.2.7', port: 1935 }])).toBe(false);
    const sender = identityOf({ sluice_server: 'vid-a', sluice_rtmp_ports: '19350' });
    expect(await isSenderEndpoint('127.0.0.1:19350', '::ffff:127.0.0.1', sender)).toBe(true);
    expect(await isSenderEndpoint('127.0.0.1:19351', '127.0.0.1', sender)).toBe(false);
    expect(await isSenderEndpoint('192.0.2.1:19350', '127.0.0.1', sender)).toBe(false);
    expect(await isSenderEndpoint('127.0.0.1:19350', '127.0.0.1', null)).toBe(false);
  });
});

describe('RtmpForwarder', () => {
  const servers: RtmpServer[] = [];
  const forwarders: RtmpForwarder[] = [];
  afterEach(async () => {
    await Promise.all(forwarders.splice(0).map((f) => f.stop()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('publishes metadata, sequence headers and media, and again after the destination restarts', async () => {
    const dest = await rtmpServer();
    servers.push(dest.server);
    const source = new Source('__defaultVhost__', 'live', 'cam', PLAY);
    source.publish({ id: 1 });
    feed(source, 0, 25);
    const fwd = new RtmpForwarder(source, {
      label: 'forward',
      endpoints: [`127.0.0.1:${dest.port}`],
      vhost: '',
      param: '?token=1',
      queue: { queueMs: 10_000, queueBytes: 1 << 24 },
      chunkSize: 4096,
      logId: 1,
      ...connectIdentity(null, [1935], 'vid-sender1'),
    });
    forwarders.push(fwd);
    fwd.start();
    const remote = () => dest.server.registry.get('__defaultVhost__', 'live', 'cam');
    await until('the forward to publish', () => fwd.state === 'live' && remote()?.publisher != null);
    feed(source, 1000, 10, false);
    await until('media at the destination', () => (remote()?.stats.videoMessages ?? 0) > 0);
    const r = remote()!;
    expect(r.metadata).not.toBeNull();
    expect(r.videoSequenceHeader?.payload).toEqual(expect.any(Buffer));
    expect(r.audioSequenceHeader).not.toBeNull();
    // The param travelled with the stream name.
    const [conn, session] = [...dest.server.connections()][0]!;
    expect([...conn.streams()][0]).toMatchObject({ kind: 'publish', name: 'cam', param: '?token=1' });
    // Its connect named the sending server and the stream's path.
    expect(identityOf(session.connect?.commandObject)).toEqual({ server: 'vid-sender1', hops: ['vid-sender1'], ports: [1935] });
    expect(session.connect?.commandObject['app']).toBe('live');

    // The destination goes away and comes back on the same port.
    await dest.server.stop();
    servers.length = 0;
    await until('the forward to notice', () => fwd.state !== 'live');
    const again = await rtmpServer('', dest.port);
    servers.push(again.server);
    const remote2 = () => again.server.registry.get('__defaultVhost__', 'live', 'cam');
    await until('the forward to publish again', () => fwd.state === 'live' && remote2()?.publisher != null, 8000);
    feed(source, 2000, 10, false);
    await until('media after the restart', () => (remote2()?.stats.videoMessages ?? 0) > 0);
    expect(remote2()!.metadata).not.toBeNull();
    expect(remote2()!.videoSequenceHeader).not.toBeNull();
    expect(remote2()!.audioSequenceHeader).not.toBeNull();
    expect(fwd.publishes).toBe(2);

    await fwd.stop();
    await until('the destination to see the unpublish', () => remote2()?.publisher == null);
  }, 20_000);
});

describe('ForwardService', () => {
  function ctxFor(v: ReturnType<typeof config>, closed: string[]): PublishContext {
    return {
      close: (reason) => closed.push(reason),
      client: { id: 9, ip: '127.0.0.1', vhost: v.vhosts.get('__defaultVhost__')!, app: 'live', tcUrl: 'rtmp://127.0.0.1/live', pageUrl: '' },
      stream: { stream: 'cam', param: '' },
    };
  }

  it('refuses a destination that is this server, and starts the others', async () => {
    const c = config('listen 19350;\nvhost __defaultVhost__ { forward { enabled on; destination 127.0.0.1:19350 127.0.0.1:9; } }');
    const service = new ForwardService(c, { serverId: 'vid-fwd0001', connectOf: () => undefined });
    const source = new Source('__defaultVhost__', 'live', 'cam', PLAY);
    source.publish({ id: 9 });
    service.published(source, c.vhosts.get('__defaultVhost__')!, ctxFor(c, []));
    await until('the self check', () => service.forwardersOf(source).length === 1);
    const [fwd] = service.forwardersOf(source);
    expect(fwd!.endpoint).toBe('127.0.0.1:9');
    await until('the other destination to be tried', () => fwd!.attempts > 0);
    service.unpublished(source);
    expect(service.forwardersOf(source)).toEqual([]);
    expect(fwd!.state).toBe('stopped');
  });

  it('follows a reload: destinations added and removed while the publish goes on', async () => {
    const c = config('listen 19350;\nvhost __defaultVhost__ { forward { enabled on; destination 127.0.0.1:9; } }');
    const service = new ForwardService(c, { serverId: 'vid-fwd0001', connectOf: () => undefined });
    const source = new Source('__defaultVhost__', 'live', 'cam', PLAY);
    source.publish({ id: 9 });
    service.published(source, c.vhosts.get('__defaultVhost__')!, ctxFor(c, []));
    const first = service.forwardersOf(source)[0]!;
    service.reload(config('listen 19350;\nvhost __defaultVhost__ { forward { enabled on; destination 127.0.0.1:9 127.0.0.1:7; } }'));
    expect(service.forwardersOf(source).map((f) => f.endpoint)).toEqual(['127.0.0.1:9', '127.0.0.1:7']);
    expect(service.forwardersOf(source)[0]).toBe(first);
    service.reload(config('listen 19350;\nvhost __defaultVhost__ { }'));
    expect(service.forwardersOf(source)).toEqual([]);
    expect(first.state).toBe('stopped');
    // Turned on again: the publish in progress is forwarded.
    service.reload(config('listen 19350;\nvhost __defaultVhost__ { forward 127.0.0.1:7; }'));
    expect(service.forwardersOf(source).map((f) => f.endpoint)).toEqual(['127.0.0.1:7']);
    await service.stop();
    expect(service.forwardersOf(source)).toEqual([]);
  });
});
