/**
 * The web console (/console/, www/console/) in headless Chromium (test/support/browser.ts),
 * served by http_server and reading the HTTP API on its own port (?api=): a stream published
 * by ffmpeg and an RTMP player show up with numbers that update; Kick closes the player
 * (the server logs the close) and removes it from the list; Reload config reloads ("reload:
 * done"); Play opens the player page in an iframe that plays HLS, HTTP-FLV and WS-FLV; a hidden
 * tab stops refreshing; an API that cannot be reached is shown as an error. With `auth { }`
 * (and the API on http_server's port, found without ?api=), the console asks for
 * credentials: a wrong password keeps the form up with an error, the right one shows the
 * streams.
 *
 * SLUICE_TEST_KEEP=1 keeps the server's directory, with a screenshot in artifacts/.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, CHROMIUM_PATH, launchBrowser, type BrowserHandle } from '../support/browser.js';
import { publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { startServer, type RunningServer } from '../support/server.js';
import { watchVideo, type Watcher } from '../support/watch.js';

const HAVE_CHROMIUM = chromiumAvailable();
if (!HAVE_CHROMIUM) {
  console.warn(`console: SKIPPED, ${CHROMIUM_PATH} is missing (\`node test/support/ensure-tools.mjs\` installs it)`);
}

const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
http_api { enabled on; listen 127.0.0.1:{{port:api}}; raw_api { enabled on; allow_reload on; } }
vhost __defaultVhost__ {
  hls { enabled on; hls_fragment 2; hls_window 10; hls_storage memory; }
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
}
`;

/** The API with auth, on http_server's port: the console finds it without ?api=. */
const LOCKED_CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}; }
http_api { enabled on; listen 127.0.0.1:{{port:http}}; auth { enabled on; username admin; password secret; } }
vhost __defaultVhost__ { }
`;

/** What the tests read of window.sluiceConsole (www/console/console.js). */
interface Kbps {
  recv_30s: number;
  send_30s: number;
}
interface ConsoleState {
  ready: boolean;
  api: string | null;
  auth: 'none' | 'required' | 'ok';
  streams: Array<{ id: string; name: string; app: string; clients: number; kbps: Kbps; publish: { active: boolean; cid?: string } }>;
  clients: Array<{ id: string; type: string; stream: string; alive: number; kbps: Kbps }>;
  errors: Array<{ kind: string; message: string; status?: number; code?: number }>;
  refreshes: number;
  paused: boolean;
  raw: { raw_api: { enabled: boolean; allow_reload: boolean } } | null;
  player: { stream: string; type: string; url: string } | null;
}
/** What the tests read of the player page in the iframe (www/players/player.js). */
interface PlayerGlobals {
  sluicePlayer?: { type: string | null; url: string | null; engine: string | null; ready: boolean; errors: Array<{ fatal: boolean }> };
  document: { getElementById(id: string): { currentTime: number } | null };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function consoleState(page: Page): Promise<ConsoleState> {
  return page.evaluate(() => JSON.parse(JSON.stringify((globalThis as unknown as { sluiceConsole: ConsoleState }).sluiceConsole)));
}

/** Polls the console's state until `check` holds; fails with the last state after `ms`. */
async function until(page: Page, ms: number, what: string, check: (s: ConsoleState) => boolean): Promise<ConsoleState> {
  const end = Date.now() + ms;
  let s = await consoleState(page);
  while (!check(s)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; window.sluiceConsole = ${JSON.stringify(s)}`);
    await sleep(100);
    s = await consoleState(page);
  }
  return s;
}

/** The player page's frame inside the console. */
function playerFrame(page: Page): Frame {
  const frame = page.frames().find((f) => f.url().includes('/players/'));
  if (!frame) throw new Error(`no player frame; frames: ${page.frames().map((f) => f.url()).join(' ')}`);
  return frame;
}

/**
 * Waits for the iframe's player to play `type`, then for its video.currentTime to advance
 * by `seconds` (within `timeoutMs`): how long each took.
 */
async function watchFrame(page: Page, type: string, seconds: number, timeoutMs = 15_000): Promise<{ startMs: number; playMs: number }> {
  const t0 = Date.now();
  await page.waitForFunction(
    (t) => {
      const frame = (globalThis as unknown as { document: { getElementById(id: string): { contentWindow: PlayerGlobals | null } | null } })
        .document.getElementById('player-frame')?.contentWindow;
      const p = frame?.sluicePlayer;
      return p?.type === t && (p.ready || (frame!.document.getElementById('video')?.currentTime ?? 0) > 0);
    },
    type,
    { timeout: 20_000, polling: 100 },
  );
  const startMs = Date.now() - t0;
  const time = (): Promise<number> =>
    playerFrame(page).evaluate(() => (globalThis as unknown as PlayerGlobals).document.getElementById('video')?.currentTime ?? 0);
  const first = await time();
  const t1 = Date.now();
  let now = first;
  while (now - first < seconds) {
    if (Date.now() - t1 > timeoutMs) {
      const state = await playerFrame(page).evaluate(() => JSON.stringify((globalThis as unknown as PlayerGlobals).sluicePlayer));
      throw new Error(`${type}: currentTime went from ${first} to ${now} in ${timeoutMs} ms; sluicePlayer ${state}`);
    }
    await sleep(100);
    now = await time();
  }
  return { startMs, playMs: Date.now() - t1 };
}

describe.skipIf(!HAVE_CHROMIUM && !process.env['CI'])('web console', () => {
  let server: RunningServer;
  let locked: RunningServer;
  let browser: BrowserHandle | undefined;
  let publisher: Publisher | undefined;
  let rtmpPlayer: Watcher | undefined;
  let waiting: Watcher | undefined;
  let base = '';
  let api = '';
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const media = await testMedia('h264-aac');
    const results = await Promise.allSettled([
      launchBrowser().then((b) => (browser = b)),
      startServer({ confText: CONF }).then(async (s) => {
        server = s;
        publisher = publish(media, server.url('live', 'console'), { loop: true, timeoutMs: 120_000 });
        await publisher.ready;
        rtmpPlayer = await watchVideo(server.url('live', 'console'));
        await server.waitForLog(/api listen at/);
      }),
      startServer({ confText: LOCKED_CONF }).then(async (s) => {
        locked = s;
        // A player waiting for a publisher keeps its stream listed (publish.active false).
        waiting = await watchVideo(locked.url('live', 'waiting'));
        await locked.waitForLog(/api shares the http server's port/);
      }),
    ]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    base = `http://127.0.0.1:${server.ports['http']}`;
    api = `http://127.0.0.1:${server.ports['api']}`;
    const context = await browser!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`uncaught: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    // Kick asks first: say yes.
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    rtmpPlayer?.close();
    waiting?.close();
    await publisher?.stop();
    const keepDir = process.env['SLUICE_TEST_KEEP'] === '1';
    if (keepDir && server) console.log(`console: kept ${server.dir}`);
    await Promise.all([server?.stop({ keepDir }), locked?.stop()]);
  });

  it('lists the server, the stream and its two clients, with numbers that update', async () => {
    // /console redirects to /console/, query kept.
    const redirect = await fetch(`${base}/console?api=x`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/?api=x');
    const opened = Date.now();
    await page.goto(`${base}/console/?api=${encodeURIComponent(api)}`);
    let s = await until(page, 10_000, 'stream and clients listed', (x) =>
      x.ready && x.streams.some((st) => st.name === 'console' && st.publish.active) && x.clients.length >= 2,
    );
    const listedMs = Date.now() - opened;
    const stream = s.streams.find((st) => st.name === 'console')!;
    expect(s.api).toBe(api);
    expect(s.clients.filter((c) => c.stream === stream.id).map((c) => c.type).sort()).toEqual(['fmle-publish', 'rtmp-play']);
    expect(s.raw?.raw_api).toMatchObject({ enabled: true, allow_reload: true });

    // On the page: the stream's row, both clients' rows, the server's pid, a Reload button.
    const row = page.locator(`#streams tbody tr[data-id="${stream.id}"]`);
    await expect.poll(() => row.locator('th').textContent()).toBe('console');
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 2)).toEqual(['__defaultVhost__', 'live']);
    expect(cells[5]).toMatch(/^H264 Baseline .*320×240$/);
    expect(cells[6]).toMatch(/^AAC LC 44\.1 kHz stereo$/);
    expect(cells[7]).toBe('yes');
    for (const c of s.clients) expect(await page.locator(`#clients tbody tr[data-id="${c.id}"]`).count()).toBe(1);
    expect(await page.locator('#server-pid').textContent()).toBe(String(server.pid));
    expect(await page.locator('#reload').isVisible()).toBe(true);

    // The numbers update: kbps in > 0 (sampled every 5 s), alive and refreshes going up.
    const before = s;
    s = await until(page, 12_000, 'kbps > 0', (x) => {
      const st = x.streams.find((y) => y.id === stream.id);
      return !!st && st.kbps.recv_30s > 0 && st.kbps.send_30s > 0;
    });
    const kbpsMs = Date.now() - opened;
    const now = s.streams.find((y) => y.id === stream.id)!;
    expect(s.refreshes).toBeGreaterThan(before.refreshes);
    const pub = (x: ConsoleState) => x.clients.find((c) => c.type === 'fmle-publish')!;
    expect(pub(s).alive).toBeGreaterThan(pub(before).alive);
    await expect.poll(async () => Number((await row.locator('td').nth(3).textContent())!.replace(/,/g, '')), { timeout: 3000 }).toBeGreaterThan(0);
    console.log(
      `console: listed ${listedMs} ms after opening, kbps ${now.kbps.recv_30s} in / ${now.kbps.send_30s} out ` +
        `after ${kbpsMs} ms, ${s.refreshes} refreshes`,
    );
    expect(s.errors).toEqual([]);
  });

  it('Kick closes the RTMP player and drops it from the list', async () => {
    const s = await consoleState(page);
    const player = s.clients.find((c) => c.type === 'rtmp-play')!;
    const closed = new Promise<void>((r) => rtmpPlayer!.client.once('close', () => r()));
    const t0 = Date.now();
    await page.click(`button[aria-label="Kick client ${player.id}"]`);
    await page.locator(`#clients tbody tr[data-id="${player.id}"]`).waitFor({ state: 'detached', timeout: 8000 });
    const goneMs = Date.now() - t0;
    await server.waitForLog(new RegExp(`api: kicked client ${player.id}\\b`), 2000);
    await server.waitForLog(new RegExp(`\\]\\[${player.id}\\] rtmp \\S+ (disconnected|closed)`), 2000);
    await closed;
    const after = await consoleState(page);
    expect(after.clients.some((c) => c.id === player.id)).toBe(false);
    expect(after.clients.some((c) => c.type === 'fmle-publish')).toBe(true);
    expect(await page.locator('#status').textContent()).toContain(`Kicked client ${player.id}`);
    console.log(`console: kicked client ${player.id}, gone from the list ${goneMs} ms after the click`);
  });

  it('Reload config reloads the server', async () => {
    const count = server.logs.filter((l) => l.includes('reload: done')).length;
    await page.click('#reload');
    await expect.poll(() => server.logs.filter((l) => l.includes('reload: done')).length, { timeout: 5000 }).toBe(count + 1);
    expect(server.logs.some((l) => l.includes('api: raw reload'))).toBe(true);
    expect(await page.locator('#status').textContent()).toContain('Reload requested');
    expect((await consoleState(page)).errors).toEqual([]);
  });

  it('Play opens the player: HLS, then HTTP-FLV and WS-FLV, with video.currentTime advancing', async () => {
    const s = await consoleState(page);
    const stream = s.streams.find((st) => st.name === 'console')!;
    await page.click(`button[aria-label="Play live/console"]`);
    await expect.poll(() => page.locator('#player').isVisible()).toBe(true);
    // hls is on for the vhost: HLS first.
    expect(await page.locator('input[name="player-type"][value="hls"]').isChecked()).toBe(true);
    const hls = await watchFrame(page, 'hls', 2);
    expect((await consoleState(page)).player).toMatchObject({ stream: stream.id, type: 'hls', url: '/live/console.m3u8' });
    const hlsState = await playerFrame(page).evaluate(() => (globalThis as unknown as PlayerGlobals).sluicePlayer!);
    expect(hlsState).toMatchObject({ type: 'hls', engine: 'hls.js', url: `${base}/live/console.m3u8` });

    await page.check('input[name="player-type"][value="flv"]');
    const flv = await watchFrame(page, 'flv', 2);
    const flvState = await playerFrame(page).evaluate(() => (globalThis as unknown as PlayerGlobals).sluicePlayer!);
    expect(flvState).toMatchObject({ type: 'flv', engine: 'mpegts.js', url: `${base}/live/console.flv` });
    expect(flvState.errors.filter((e) => e.fatal)).toEqual([]);
    // The console lists the iframe's HTTP-FLV player as a client of the stream.
    await until(page, 8000, 'flv-play listed', (x) => x.clients.some((c) => c.type === 'flv-play' && c.stream === stream.id));

    await page.check('input[name="player-type"][value="ws"]');
    const ws = await watchFrame(page, 'ws', 2);
    const wsState = await playerFrame(page).evaluate(() => (globalThis as unknown as PlayerGlobals).sluicePlayer!);
    expect(wsState).toMatchObject({ type: 'ws', engine: 'mpegts.js', url: `${base.replace('http:', 'ws:')}/live/console.flv` });
    expect(wsState.errors.filter((e) => e.fatal)).toEqual([]);
    const played = (name: string, r: { startMs: number; playMs: number }): string =>
      `${name} started in ${r.startMs} ms, played 2 s in ${r.playMs} ms`;
    console.log(`console: ${played('HLS', hls)}; ${played('HTTP-FLV', flv)}; ${played('WS-FLV', ws)}`);

    const shot = path.join(server.dir, 'artifacts', 'console.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
    expect((await consoleState(page)).errors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('stops refreshing while the tab is hidden, and starts again when it is shown', async () => {
    const setHidden = (hidden: boolean): Promise<void> =>
      page.evaluate((h) => {
        const doc = (globalThis as unknown as { document: { dispatchEvent(e: unknown): boolean } }).document;
        Object.defineProperty(doc, 'hidden', { value: h, configurable: true });
        Object.defineProperty(doc, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
        doc.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await sleep(300); // a refresh under way may still end
    const hidden = await consoleState(page);
    expect(hidden.paused).toBe(true);
    await sleep(2500);
    expect((await consoleState(page)).refreshes).toBe(hidden.refreshes);
    await setHidden(false);
    await until(page, 1000, 'refreshed once shown', (x) => x.refreshes > hidden.refreshes && !x.paused);
  });

  it('shows an error when the API cannot be reached', async () => {
    const context = await browser!.browser.newContext();
    try {
      const p = await context.newPage();
      const nobody = `http://127.0.0.1:${await freePort()}`;
      await p.goto(`${base}/console/?api=${encodeURIComponent(nobody)}`);
      await p.locator('#error').waitFor({ state: 'visible', timeout: 5000 });
      expect(await p.locator('#error').textContent()).toContain(`cannot reach ${nobody}/api/v1/versions`);
      const s = await consoleState(p);
      expect(s.ready).toBe(false);
      expect(s.errors[0]).toMatchObject({ kind: 'network' });
      expect(await p.locator('#errors li').count()).toBeGreaterThanOrEqual(1);
    } finally {
      await context.close();
    }
  });

  it('with auth: a login form; a wrong password keeps it with an error, the right one shows the streams', async () => {
    const lockedBase = `http://127.0.0.1:${locked.ports['http']}`;
    const context = await browser!.browser.newContext();
    try {
      const p = await context.newPage();
      // No ?api=: port 1985 of this host first (nothing, or not this server), then this origin.
      await p.goto(`${lockedBase}/console/`);
      await p.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await consoleState(p)).toMatchObject({ auth: 'required', api: lockedBase });
      expect(await p.locator('#login-api').textContent()).toBe(lockedBase);
      expect(await p.locator('#content').isVisible()).toBe(false);

      await p.fill('#login-user', 'admin');
      await p.fill('#login-password', 'wrong');
      await p.click('#login button[type="submit"]');
      await p.locator('#login-error').waitFor({ state: 'visible', timeout: 5000 });
      expect(await p.locator('#login-error').textContent()).toContain('Wrong user name or password');
      expect(await p.locator('#login').isVisible()).toBe(true);
      const refused = await consoleState(p);
      expect(refused.auth).toBe('required');
      expect(refused.errors.at(-1)).toMatchObject({ kind: 'auth', status: 401 });

      await p.fill('#login-password', 'secret');
      await p.click('#login button[type="submit"]');
      const s = await until(p, 8000, 'streams after login', (x) => x.ready && x.streams.some((st) => st.name === 'waiting'));
      expect(s.auth).toBe('ok');
      expect(s.streams.find((st) => st.name === 'waiting')!.publish.active).toBe(false);
      expect(await p.locator('#login').isVisible()).toBe(false);
      await expect.poll(() => p.locator('#streams tbody th').allTextContents()).toEqual(['waiting']);
      // No raw_api: no Reload button. The credentials stay in this tab's sessionStorage.
      expect(await p.locator('#reload').isVisible()).toBe(false);
      const stored = await p.evaluate(() => Object.values((globalThis as unknown as { sessionStorage: Record<string, string> }).sessionStorage));
      expect(stored).toEqual([Buffer.from('admin:secret').toString('base64')]);
    } finally {
      await context.close();
    }
  });
});
