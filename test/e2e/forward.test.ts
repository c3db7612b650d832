/**
 * forward { }: a publish on A is pushed to B and C; B is down at first (C plays at once, B
 * gets the stream after the backoff), B restarts mid-stream and gets metadata and sequence
 * headers again; forwards that would loop (back to the sender, or into the server itself)
 * are refused with a log line and carry nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { startServer, type RunningServer } from '../support/server.js';

const plain = (extraListen: string, vhost = ''): string => `listen {{port}}${extraListen};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
vhost __defaultVhost__ {
${vhost}
}
`;

function tracks(r: Awaited<ReturnType<typeof probe>>): string[] {
  return r.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
}

describe('forward', () => {
  let a: RunningServer;
  let b: RunningServer | undefined;
  let c: RunningServer;
  let bPort = 0;
  let file = '';
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    file = await testMedia('h264-aac');
    c = await startServer({ confText: plain('') });
    // B's port is chosen now (A names it) and served later.
    a = await startServer({
      confText: plain('', `forward { enabled on; destination 127.0.0.1:{{port:b}}; destination 127.0.0.1:${c.port}; }`),
    });
    bPort = a.ports['b']!;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  // One test: the harness ends a test's processes (B, the publisher) when it ends.
  it('pushes a publish to every destination; one down at first gets it after the backoff, and again after a restart', async () => {
    const pub = publish(file, a.url('live', 'fwd'), { loop: true });
    publishers.push(pub);
    await pub.ready;
    // C works while B is down.
    expect(tracks(await probe(c.url('live', 'fwd')))).toEqual(['audio:aac', 'video:h264']);
    await a.waitForLog(new RegExp(`forward __defaultVhost__/live/fwd to 127\\.0\\.0\\.1:${bPort} failed: .*retry in \\d+s`));
    expect(a.logs.filter((l) => /forward .* to 127\.0\.0\.1:\d+ failed/.test(l)).length).toBeLessThan(6);

    b = await startServer({ confText: plain(` ${bPort}`) });
    await a.waitForLog(new RegExp(`forward __defaultVhost__/live/fwd to rtmp://127\\.0\\.0\\.1:${bPort}/live/fwd started`), 20_000);
    expect(tracks(await probe(`rtmp://127.0.0.1:${bPort}/live/fwd`))).toEqual(['audio:aac', 'video:h264']);
    // B's publisher is A's forwarder, which names A in its connect.
    await b.waitForLog(/publish __defaultVhost__\/live\/fwd comes from server vid-[0-9a-z]{7}/);

    // B restarts mid-stream: it gets metadata and sequence headers again.
    await b.kill();
    const before = a.logs.length;
    b = await startServer({ confText: plain(` ${bPort}`) });
    const started = new RegExp(`forward __defaultVhost__/live/fwd to rtmp://127\\.0\\.0\\.1:${bPort}/live/fwd started`);
    for (const until = Date.now() + 20_000; !a.logs.slice(before).some((l) => started.test(l)); ) {
      if (Date.now() > until) throw new Error(`A did not forward to B again:\n${a.logs.slice(before).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await probe(`rtmp://127.0.0.1:${bPort}/live/fwd`);
    expect(tracks(r)).toEqual(['audio:aac', 'video:h264']);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    expect([video.width, video.height]).toEqual([320, 240]);
    expect(r.streams.find((s) => s.codec_type === 'audio')!.sample_rate).toBe('44100');
    // C was never disturbed.
    expect(c.logs.filter((l) => /unpublish __defaultVhost__\/live\/fwd/.test(l))).toEqual([]);
  }, 60_000);

  it('refuses a forward back to the server the stream came from, and one into itself', async () => {
    // D forwards to E, E forwards back to D; D also names its own address.
    const e = await startServer({ confText: plain('', 'forward { enabled on; destination 127.0.0.1:{{port:d}}; }') });
    const dPort = e.ports['d']!;
    const d = await startServer({
      confText: plain(` ${dPort}`, `forward { enabled on; destination 127.0.0.1:${e.port}; destination 127.0.0.1:${dPort}; }`),
    });
    try {
      const pub = publish(file, d.url('live', 'loop'), { loop: true });
      publishers.push(pub);
      await pub.ready;
      await d.waitForLog(new RegExp(`forward __defaultVhost__/live/loop to 127\\.0\\.0\\.1:${dPort} refused: dead loop: .* this server's own RTMP address`));
      await e.waitForLog(new RegExp(`forward __defaultVhost__/live/loop to 127\\.0\\.0\\.1:${dPort} refused: dead loop: .* the server this stream came from`));
      expect(tracks(await probe(e.url('live', 'loop')))).toEqual(['audio:aac', 'video:h264']);
      // Nothing came back to D: one publish only, never refused as "already publishing".
      await new Promise((r) => setTimeout(r, 1500));
      expect(d.logs.filter((l) => /publish __defaultVhost__\/live\/loop type=/.test(l))).toHaveLength(1);
      expect(d.logs.filter((l) => /already published/.test(l))).toEqual([]);
      expect(e.logs.filter((l) => /forward .* (failed|started)/.test(l))).toEqual([]);
    } finally {
      await Promise.all([d.stop(), e.stop()]);
    }
  }, 40_000);

  it('refuses the forward that closes a loop through three servers, at the server it came round to', async () => {
    // F -> G -> H -> F, each on a port chosen before any starts.
    const [pf, pg, ph] = [await freePort(), await freePort(), await freePort()];
    const to = (p: number): string => `forward { enabled on; destination 127.0.0.1:${p}; }`;
    const [f, g, h] = await Promise.all([
      startServer({ confText: plain(` ${pf}`, to(pg)) }),
      startServer({ confText: plain(` ${pg}`, to(ph)) }),
      startServer({ confText: plain(` ${ph}`, to(pf)) }),
    ]);
    try {
      const pub = publish(file, f.url('live', 'ring'), { loop: true });
      publishers.push(pub);
      await pub.ready;
      const refusal = await f.waitForLog(/connect tcUrl=rtmp:\/\/127\.0\.0\.1:\d+\/live refused: dead loop: the stream already passed through this server \(vid-\w+\); its path is vid-\w+ -> vid-\w+ -> vid-\w+/, 20_000);
      expect(refusal).toBeTruthy();
      await h.waitForLog(new RegExp(`forward __defaultVhost__/live/ring to 127\\.0\\.0\\.1:${pf} refused: .*dead loop.*; not retried`));
      // Every server plays the stream; F's own publish was never disturbed.
      expect(tracks(await probe(h.url('live', 'ring')))).toEqual(['audio:aac', 'video:h264']);
      expect(f.logs.filter((l) => /already publish/.test(l))).toEqual([]);
      expect(f.logs.filter((l) => /unpublish __defaultVhost__\/live\/ring/.test(l))).toEqual([]);
    } finally {
      await Promise.all([f.stop(), g.stop(), h.stop()]);
    }
  }, 60_000);
});
