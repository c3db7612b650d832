/**
 * Dead loops through several servers, with in-process servers that each have their own id
 * and the forward and edge services of src/main.ts: a forward ring of three servers, and two
 * edges that are each other's origin. The server at which the stream comes round again
 * refuses the connect that would close the loop, says "dead loop" in its log, and the
 * sender does not retry; the original publish and its players are not disturbed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RtmpServer } from '../../../src/app/rtmp-server.js';
import { log } from '../../../src/core/logger.js';
import { RtmpClient, parseRtmpUrl } from '../../../src/protocol/rtmp/client-session.js';
import { freePort } from '../../support/ports.js';
import { livePublisher, rtmpServer, until } from './forward-peers.js';

const lines: string[] = [];
log.configure({ level: 'trace', sink: { write: (l) => void lines.push(l) } });

const servers: RtmpServer[] = [];
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  lines.length = 0;
});

function logged(re: RegExp): boolean {
  return lines.some((l) => re.test(l));
}

describe('dead loops through several servers', () => {
  it('refuses the forward that closes a ring of three servers, and keeps the publish', async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const fwd = (p: number) => `forward { enabled on; destination 127.0.0.1:${p}; }`;
    const a = await rtmpServer(fwd(pb), pa, { serverId: 'vid-ringaaa', services: true });
    const b = await rtmpServer(fwd(pc), pb, { serverId: 'vid-ringbbb', services: true });
    const c = await rtmpServer(fwd(pa), pc, { serverId: 'vid-ringccc', services: true });
    servers.push(a.server, b.server, c.server);
    const pub = await livePublisher(`rtmp://127.0.0.1:${pa}/live/ring`);
    stops.push(() => pub.stop());

    const at = (s: RtmpServer) => s.registry.get('__defaultVhost__', 'live', 'ring');
    await until('the stream to reach the third server', () => (at(c.server)?.stats.videoMessages ?? 0) > 0, 8000);
    // The third server's forward back to the first is refused there, at connect.
    await until('the refusal', () => logged(/connect tcUrl=rtmp:\/\/127\.0\.0\.1:\d+\/live refused: dead loop: the stream already passed through this server \(vid-ringaaa\); its path is vid-ringaaa -> vid-ringbbb -> vid-ringccc/));
    await until('the sender to give up', () => logged(/forward __defaultVhost__\/live\/ring to 127\.0\.0\.1:\d+ refused: .*dead loop.*; not retried/));
    // Not the old "already publishing": the original publisher still owns the stream.
    expect(logged(/already publish/)).toBe(false);
    expect(at(a.server)?.publisher?.id).toBe([...a.server.connections()].find(([conn]) => conn.role === 'publish')![1].id);
    const before = at(a.server)!.stats.videoMessages;
    await until('media to go on at the first server', () => at(a.server)!.stats.videoMessages > before + 5);
  }, 20_000);

  it('refuses the pull between two edges that are each other\'s origin', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const edgeOf = (p: number) => `cluster { mode remote; origin 127.0.0.1:${p}; }`;
    const a = await rtmpServer(edgeOf(pb), pa, { serverId: 'vid-edgeaaa', services: true });
    const b = await rtmpServer(edgeOf(pa), pb, { serverId: 'vid-edgebbb', services: true });
    servers.push(a.server, b.server);
    const player = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${pa}/live/none`));
    stops.push(() => player.close());
    await player.connect();
    await player.play(await player.createStream());
    await until('the loop to be refused', () => logged(/refused: dead loop: the stream already passed through this server \(vid-edgeaaa\); its path is vid-edgeaaa -> vid-edgebbb/), 8000);
    await until('the pull to be refused', () => logged(/edge pull live\/none from 127\.0\.0\.1:\d+ refused: .*dead loop/));
    // The player that asked stays connected, waiting (as for any origin without the stream).
    expect(player.isClosed).toBe(false);
  }, 20_000);
});
