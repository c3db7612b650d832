/**
 * The browser player page (/players/, www/players/) in headless Chromium
 * (test/support/browser.ts), served by the server itself: hls.js plays live HLS from the
 * segmenter, mpegts.js plays live HTTP-FLV and WebSocket-FLV, each for 10 s with
 * video.currentTime advancing and no player error; playback goes on across a republish (an
 * HLS discontinuity; an HTTP-FLV connection that stays open). Also a static FLV file
 * (?live=0) and the form without ?url=.
 *
 * One server and one browser for the file; every case has its own stream, published (looped)
 * from beforeAll so the HLS playlists already hold segments when their cases start.
 * SLUICE_TEST_KEEP=1 keeps the server's directory, with a screenshot of each case in
 * artifacts/.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  CHROMIUM_PATH,
  launchBrowser,
  playedBetween,
  playerPageUrl,
  watchInBrowser,
  type BrowserHandle,
  type PlayerState,
  type WatchResult,
} from '../support/browser.js';
import { publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const HAVE_CHROMIUM = chromiumAvailable();
if (!HAVE_CHROMIUM) {
  console.warn(
    `browser-players: SKIPPED, ${CHROMIUM_PATH} is missing (\`node test/support/ensure-tools.mjs\` installs it)`,
  );
}

const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}/www; }
vhost __defaultVhost__ {
  hls { enabled on; hls_fragment 2; hls_window 10; hls_storage memory; }
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
}
`;

/** The live streams, one per case. */
const STREAMS = ['hls', 'flv', 'ws', 'rehls', 'reflv'] as const;
type StreamName = (typeof STREAMS)[number];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls an HLS playlist until it lists at least `n` segments. */
async function waitForSegments(url: string, n: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await fetch(url).catch(() => null);
    if (r?.status === 200) {
      last = await r.text();
      if (last.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length >= n) return;
    } else {
      await r?.body?.cancel();
    }
    await sleep(250);
  }
  throw new Error(`${url}: fewer than ${n} segments after ${timeoutMs} ms:\n${last}`);
}

/** What a failed expectation prints: the samples and the page's state. */
function describeWatch(r: WatchResult): string {
  return (
    `samples ${r.samples.map((s) => s.toFixed(2)).join(' ')}\n` +
    `errors ${JSON.stringify(r.errors)}\nevents ${JSON.stringify(r.state.events)}\n` +
    `console ${JSON.stringify(r.consoleErrors)}`
  );
}

function summary(name: string, r: WatchResult): void {
  console.log(
    `browser-players ${name}: started in ${r.startMs} ms, played ${r.played.toFixed(2)} s, ` +
      `longest stall ${r.stalls.toFixed(2)} s, ${r.errors.length} errors (${r.fatalErrors.length} fatal), ` +
      `${r.state.restarts} restarts; events ${r.state.events.map((e) => e.name).join(' ')}` +
      (r.errors.length ? `; errors ${r.errors.map((e) => `${e.type}/${e.details}${e.fatal ? ' (fatal)' : ''}`).join(' ')}` : ''),
  );
}

describe.skipIf(!HAVE_CHROMIUM && !process.env['CI'])('browser players', () => {
  let server: RunningServer;
  let browser: BrowserHandle | undefined;
  let base: string;
  let ws: string;
  let media: string;
  const publishers = new Map<StreamName, Publisher>();
  const extraPublishers: Publisher[] = [];

  const startPublish = (stream: StreamName): Publisher =>
    publish(media, server.url('live', stream), { loop: true, timeoutMs: 300_000 });
  const artifact = (name: string): string => path.join(server.dir, 'artifacts', `${name}.png`);

  /**
   * For onStarted: `afterMs` after playback started, stops the stream's publisher (a
   * graceful unpublish), starts a new one on the same stream, and resolves with the time the
   * new one is publishing.
   */
  function republishLater(stream: StreamName, afterMs: number): { begin: () => void; done: () => Promise<number> } {
    let done: Promise<number> | undefined;
    return {
      begin: () => {
        done = (async () => {
          await sleep(afterMs);
          await publishers.get(stream)!.stop();
          await server.waitForLog(new RegExp(`unpublish __defaultVhost__/live/${stream}\\b`));
          const again = startPublish(stream);
          extraPublishers.push(again);
          await again.ready;
          return Date.now();
        })();
        done.catch(() => {});
      },
      done: () => done ?? Promise.reject(new Error('playback never started, nothing was republished')),
    };
  }

  beforeAll(async () => {
    media = await testMedia('h264-aac');
    server = await startServer({ confText: CONF });
    base = `http://127.0.0.1:${server.ports['http']}`;
    ws = `ws://127.0.0.1:${server.ports['http']}`;
    const vod = path.join(server.dir, 'www', 'vod');
    await mkdir(vod, { recursive: true });
    for (const s of STREAMS) publishers.set(s, startPublish(s));
    // allSettled: a browser that launched is closed by afterAll even if something else failed.
    const results = await Promise.allSettled([
      launchBrowser().then((b) => (browser = b)),
      copyFile(media, path.join(vod, 's.flv')),
      server.waitForLog(/http listen at/),
      ...[...publishers.values()].map((p) => p.ready),
      // A playlist is there once its first segment is: before that hls.js gets a 404.
      waitForSegments(`${base}/live/hls.m3u8`, 2),
      waitForSegments(`${base}/live/rehls.m3u8`, 2),
    ]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([...publishers.values(), ...extraPublishers].map((p) => p.stop()));
    // SLUICE_TEST_KEEP=1 keeps the server's directory, with the screenshots in artifacts/.
    const keepDir = process.env['SLUICE_TEST_KEEP'] === '1';
    if (keepDir && server) console.log(`browser-players: kept ${server.dir}`);
    await server?.stop({ keepDir });
  });

  it('plays live HLS from the segmenter for 10 s', async () => {
    const url = `${base}/live/hls.m3u8`;
    const shot = artifact('hls');
    const r = await watchInBrowser(browser!, playerPageUrl(base, '/live/hls.m3u8'), {
      seconds: 10,
      startTimeoutMs: 20_000,
      screenshot: shot,
    });
    summary('hls', r);
    expect(r.state).toMatchObject({ type: 'hls', engine: 'hls.js', url, live: true, ready: true });
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    expect(r.played, describeWatch(r)).toBeGreaterThanOrEqual(8);
    expect(r.stalls, describeWatch(r)).toBeLessThan(2);
    expect(r.state.restarts).toBe(0);
    expect(r.consoleErrors).toEqual([]);
    expect((await stat(shot)).size).toBeGreaterThan(1000);
  });

  it('plays live HTTP-FLV for 10 s', async () => {
    const shot = artifact('http-flv');
    const r = await watchInBrowser(browser!, playerPageUrl(base, '/live/flv.flv'), {
      seconds: 10,
      startTimeoutMs: 10_000,
      screenshot: shot,
    });
    summary('http-flv', r);
    expect(r.state).toMatchObject({ type: 'flv', engine: 'mpegts.js', url: `${base}/live/flv.flv`, live: true, ready: true });
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    expect(r.played, describeWatch(r)).toBeGreaterThanOrEqual(8);
    expect(r.stalls, describeWatch(r)).toBeLessThan(2);
    expect(r.state.restarts).toBe(0);
    expect(r.consoleErrors).toEqual([]);
    expect((await stat(shot)).size).toBeGreaterThan(1000);
  });

  it('plays live WS-FLV for 10 s', async () => {
    const shot = artifact('ws-flv');
    const r = await watchInBrowser(browser!, playerPageUrl(base, `${ws}/live/ws.flv`), {
      seconds: 10,
      startTimeoutMs: 10_000,
      screenshot: shot,
    });
    summary('ws-flv', r);
    expect(r.state).toMatchObject({ type: 'ws', engine: 'mpegts.js', url: `${ws}/live/ws.flv`, live: true, ready: true });
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    expect(r.played, describeWatch(r)).toBeGreaterThanOrEqual(8);
    expect(r.stalls, describeWatch(r)).toBeLessThan(2);
    expect(r.state.restarts).toBe(0);
    expect(r.consoleErrors).toEqual([]);
    expect((await stat(shot)).size).toBeGreaterThan(1000);
  });

  it('survives a republish (discontinuity) in HLS', async () => {
    const shot = artifact('hls-republish');
    // Republished right after playback started: hls.js plays ~4 segments (8 s) behind the publisher,
    // so it reaches the new publish's first segment some 9-11 s after the republish.
    const again = republishLater('rehls', 500);
    const r = await watchInBrowser(browser!, playerPageUrl(base, '/live/rehls.m3u8'), {
      seconds: 17,
      startTimeoutMs: 20_000,
      screenshot: shot,
      onStarted: again.begin,
    });
    const republishedAt = await again.done();
    summary('hls-republish', r);
    const playlist = await (await fetch(`${base}/live/rehls.m3u8`)).text();
    // The tag, or (once its segment left the 10 s window) the sequence number it left behind.
    expect(playlist).toMatch(/#EXT-X-DISCONTINUITY\n|#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
    // The player went over the discontinuity: a fragment of the new publish began to play ...
    const crossed = r.state.events.find((e) => e.name === 'discontinuity');
    expect(crossed, describeWatch(r)).toMatchObject({ cc: 1 });
    const end = r.sampleTimes[r.sampleTimes.length - 1]!;
    const left = (end - crossed!.time) / 1000;
    const after = playedBetween(r, crossed!.time);
    console.log(
      `browser-players hls-republish: republished ${((republishedAt - r.sampleTimes[0]!) / 1000).toFixed(1)} s ` +
        `into playback, crossed the discontinuity ${((crossed!.time - republishedAt) / 1000).toFixed(1)} s later, ` +
        `then played ${after.toFixed(2)} s of ${left.toFixed(2)} s`,
    );
    // ... early enough to see the new publish play, and it played on from there.
    expect(left, describeWatch(r)).toBeGreaterThan(2);
    expect(after, describeWatch(r)).toBeGreaterThanOrEqual(left - 1.5);
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    expect(r.state.restarts).toBe(0);
    expect((await stat(shot)).size).toBeGreaterThan(1000);
  });

  it('survives a republish in HTTP-FLV on the same connection', async () => {
    const shot = artifact('http-flv-republish');
    const again = republishLater('reflv', 1000);
    const r = await watchInBrowser(browser!, playerPageUrl(base, '/live/reflv.flv'), {
      seconds: 10,
      startTimeoutMs: 10_000,
      screenshot: shot,
      onStarted: again.begin,
    });
    const republishedAt = await again.done();
    summary('http-flv-republish', r);
    const after = playedBetween(r, republishedAt);
    console.log(`browser-players http-flv-republish: played ${after.toFixed(2)} s after the republish`);
    const left = (r.sampleTimes[r.sampleTimes.length - 1]! - republishedAt) / 1000;
    // mpegts.js keeps ~1 s buffered: after that, what plays is the new publish.
    expect(left, describeWatch(r)).toBeGreaterThan(5);
    expect(after, describeWatch(r)).toBeGreaterThanOrEqual(left - 2.5);
    expect(playedBetween(r, r.sampleTimes[r.sampleTimes.length - 1]! - 3000), describeWatch(r)).toBeGreaterThan(2);
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    // The server kept the connection (no reconnect by the page) and sent the new publish's
    // metadata and sequence headers on it (mpegts.js reports new media info).
    expect(r.state.restarts, describeWatch(r)).toBe(0);
    expect(r.state.events.filter((e) => e.name === 'mediaInfo').length, describeWatch(r)).toBeGreaterThanOrEqual(2);
    expect((await stat(shot)).size).toBeGreaterThan(1000);
  });

  it('mpegts.js plays a static FLV file (?live=0)', async () => {
    const r = await watchInBrowser(browser!, playerPageUrl(base, '/vod/s.flv', { live: '0' }), {
      seconds: 3,
      startTimeoutMs: 10_000,
    });
    expect(r.state).toMatchObject({ type: 'flv', engine: 'mpegts.js', live: false, ready: true });
    expect(r.fatalErrors, describeWatch(r)).toEqual([]);
    expect(r.advanced, describeWatch(r)).toBeGreaterThanOrEqual(2);
    expect(r.stalls).toBeLessThan(1.5);
    expect(r.consoleErrors).toEqual([]);
  });

  it('without ?url= the form builds the stream URL; a missing stream is reported and retried', async () => {
    const context = await browser!.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/players/`);
      // Nobody publishes live/nosuch: its URL falls through to the static files, a 404.
      await page.fill('#stream', 'live/nosuch');
      await page.click('button[data-type="flv"]');
      await page.waitForURL(/\?url=/);
      expect(new URL(page.url()).searchParams.get('url')).toBe('/live/nosuch.flv');
      // A 404 is a fatal mpegts.js error: recorded, shown, and the player recreated.
      await page.waitForFunction(
        () => ((globalThis as unknown as { sluicePlayer: PlayerState }).sluicePlayer.restarts ?? 0) >= 1,
        undefined,
        { timeout: 10_000 },
      );
      const state = await page.evaluate(() => (globalThis as unknown as { sluicePlayer: PlayerState }).sluicePlayer);
      expect(state).toMatchObject({ type: 'flv', url: `${base}/live/nosuch.flv`, live: true, ready: false });
      expect(state.errors[0]).toMatchObject({ type: 'NetworkError', fatal: true });
      expect(await page.locator('#errors li.fatal').count()).toBeGreaterThanOrEqual(1);
    } finally {
      await context.close();
    }
  });
});
