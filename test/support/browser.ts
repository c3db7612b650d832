/**
 * Headless Chromium for end-to-end player tests: playwright-core drives the system
 * Chromium (/usr/bin/chromium, which test/support/ensure-tools.mjs installs) through the
 * player page www/players/index.html, which reports its state in window.sluicePlayer.
 *
 *   describe.skipIf(!chromiumAvailable() && !process.env['CI'])('...', () => { ... });  // under CI: never skipped
 *   const browser = await launchBrowser();
 *   try {
 *     const page = playerPageUrl(`http://127.0.0.1:${port}`, '/live/s.m3u8');
 *     const r = await watchInBrowser(browser, page, { seconds: 10, startTimeoutMs: 15_000 });
 *     expect(r.advanced).toBeGreaterThan(8);
 *     expect(r.fatalErrors).toEqual([]);
 *   } finally {
 *     await browser.close(); // always: close() waits until every Chromium process is gone
 *   }
 *
 * Chromium never outlives the test process: close() kills its process group if it does not
 * exit by itself, an 'exit' hook kills whatever is still open, and Chromium (started with
 * --remote-debugging-pipe by Playwright) exits by itself when its pipe to a dead test
 * process closes, so a SIGKILLed worker leaves nothing behind either.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The developers' guide requires these four flags (plus autoplay for muted <video>). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--autoplay-policy=no-user-gesture-required',
];

/** True when the system Chromium is installed (Debian package `chromium`). */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface BrowserHandle {
  readonly browser: Browser;
  /** Pid (and process group) of the Chromium browser process, when it could be found. */
  readonly pid: number | undefined;
  /** Closes Chromium and resolves once all of its processes are gone. Idempotent. */
  close(): Promise<void>;
}

// ---- processes ------------------------------------------------------------------------

interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return {
      pid,
      comm: text.slice(text.indexOf('(') + 1, close),
      state: fields[0] ?? '?',
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
    };
  } catch {
    return undefined; // gone, or no /proc
  }
}

function allStats(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** Chromium processes started directly by this process (Playwright spawns the browser here). */
function chromiumChildren(): Set<number> {
  return new Set(allStats().filter((s) => s.ppid === process.pid && /chrom/i.test(s.comm)).map((s) => s.pid));
}

/** Live (not zombie) members of a process group. */
function groupMembers(pgid: number): number[] {
  return allStats()
    .filter((s) => s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X')
    .map((s) => s.pid);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

const openGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of openGroups) killGroup(pgid);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- launch ---------------------------------------------------------------------------

/** Starts headless Chromium. The caller must close() it (in a finally or afterAll). */
export async function launchBrowser(opts: { timeoutMs?: number } = {}): Promise<BrowserHandle> {
  if (!chromiumAvailable()) {
    throw new Error(`${CHROMIUM_PATH} is missing: run \`node test/support/ensure-tools.mjs\` (apt-get install chromium)`);
  }
  const before = chromiumChildren();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: opts.timeoutMs ?? 30_000,
    // Leave signals to the test harness (procs.ts re-raises them to terminate the worker;
    // a Playwright handler would keep the worker alive). The 'exit' hook above, and
    // Chromium's own exit on EOF of its DevTools pipe, clean up instead.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const found = [...chromiumChildren()].filter((pid) => !before.has(pid));
  const pid = found.length === 1 ? found[0] : undefined;
  if (pid !== undefined) openGroups.add(pid);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.race([browser.close().catch(() => undefined), sleep(10_000)]);
      if (pid === undefined) return;
      // Playwright spawns Chromium as the leader of its own process group: wait for the
      // whole group (renderers, zygotes, GPU and utility processes) to go, then force it.
      const deadline = Date.now() + 5000;
      while (groupMembers(pid).length > 0 && Date.now() < deadline) await sleep(50);
      if (groupMembers(pid).length > 0) {
        killGroup(pid);
        const hard = Date.now() + 5000;
        while (groupMembers(pid).length > 0 && Date.now() < hard) await sleep(50);
      }
      openGroups.delete(pid);
      const left = groupMembers(pid);
      if (left.length > 0) throw new Error(`Chromium (pgid ${pid}) left processes behind: ${left.join(', ')}`);
    })();
    return closing;
  };
  return { browser, pid, close };
}

// ---- watching a player ----------------------------------------------------------------

/** One error as the player page records it (hls.js, mpegts.js, or the <video> element). */
export interface PlayerError {
  type: string;
  details: string;
  fatal: boolean;
  /** Date.now() in the page. */
  time: number;
  message?: string;
}

export interface PlayerEvent {
  name: string;
  time: number;
  [key: string]: unknown;
}

/** window.sluicePlayer, see www/players/player.js. */
export interface PlayerState {
  type: 'hls' | 'flv' | 'ws' | null;
  url: string | null;
  live: boolean;
  engine: string | null;
  errors: PlayerError[];
  events: PlayerEvent[];
  ready: boolean;
  restarts: number;
}

export interface WatchOptions {
  /** How long to sample video.currentTime after playback started (default 5 s). */
  seconds?: number;
  /** How long playback may take to start (default 15 s); after that watchInBrowser throws. */
  startTimeoutMs?: number;
  /** Sampling interval (default 500 ms). */
  intervalMs?: number;
  /** Save a screenshot of the page here at the end (also when playback does not start). */
  screenshot?: string;
  /** Called once playback has started, before sampling (e.g. to republish meanwhile). */
  onStarted?: () => void | Promise<void>;
}

export interface WatchResult {
  /** video.currentTime every intervalMs, from the start of playback. */
  samples: number[];
  /** When each sample was taken (Date.now()), e.g. to look at playback after an event. */
  sampleTimes: number[];
  /** Last sample minus first, in seconds of media. */
  advanced: number;
  /** Sum of the forward steps between samples: media played even across a player restart. */
  played: number;
  /** Longest stretch of wall-clock time without currentTime advancing, in seconds. */
  stalls: number;
  /** window.sluicePlayer.errors at the end, and those of them that were fatal. */
  errors: PlayerError[];
  fatalErrors: PlayerError[];
  /** console.error messages and uncaught exceptions of the page. */
  consoleErrors: string[];
  /** From opening the page to playback starting, ms. */
  startMs: number;
  /** window.sluicePlayer at the end. */
  state: PlayerState;
}

/**
 * Media played (sum of forward currentTime steps) between the samples taken at or after
 * `from` and at or before `to` (Date.now() values): e.g. playback after a republish.
 */
export function playedBetween(r: Pick<WatchResult, 'samples' | 'sampleTimes'>, from: number, to = Infinity): number {
  let played = 0;
  for (let i = 1; i < r.samples.length; i++) {
    if (r.sampleTimes[i - 1]! < from || r.sampleTimes[i]! > to) continue;
    const step = r.samples[i]! - r.samples[i - 1]!;
    if (step > 0.001) played += step;
  }
  return played;
}

/** `base`/players/?url=<streamUrl>&<params>: the player page of a Sluice HTTP server. */
export function playerPageUrl(base: string, streamUrl: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams({ url: streamUrl, ...params });
  return `${base.replace(/\/+$/, '')}/players/?${q.toString()}`;
}

// What the page-side functions below touch (the test tsconfig has no DOM types).
interface PageGlobals {
  sluicePlayer?: PlayerState;
  document: { getElementById(id: string): { currentTime: number } | null };
}

/**
 * Opens `pageUrl` (a player page) in a new browser context, waits for playback to start,
 * samples video.currentTime for `seconds`, and closes the context.
 */
export async function watchInBrowser(
  handle: BrowserHandle,
  pageUrl: string,
  opts: WatchOptions = {},
): Promise<WatchResult> {
  const seconds = opts.seconds ?? 5;
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  const intervalMs = opts.intervalMs ?? 500;
  const context = await handle.browser.newContext();
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const where = msg.location().url;
      consoleErrors.push(where && !msg.text().includes(where) ? `${msg.text()} (${where})` : msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));

    const readState = (): Promise<PlayerState | undefined> =>
      page.evaluate(() => {
        const s = (globalThis as unknown as PageGlobals).sluicePlayer;
        return s ? (JSON.parse(JSON.stringify(s)) as PlayerState) : undefined;
      });
    const currentTime = (): Promise<number> =>
      page.evaluate(() => (globalThis as unknown as PageGlobals).document.getElementById('video')?.currentTime ?? 0);
    const screenshot = async (): Promise<void> => {
      if (!opts.screenshot) return;
      await mkdir(path.dirname(opts.screenshot), { recursive: true });
      await page.screenshot({ path: opts.screenshot }).catch(() => undefined);
    };

    const opened = Date.now();
    await page.goto(pageUrl, { waitUntil: 'load', timeout: startTimeoutMs });
    try {
      await page.waitForFunction(
        () => {
          const g = globalThis as unknown as PageGlobals;
          return g.sluicePlayer?.ready === true || (g.document.getElementById('video')?.currentTime ?? 0) > 0;
        },
        undefined,
        { timeout: Math.max(1, startTimeoutMs - (Date.now() - opened)), polling: 100 },
      );
    } catch (err) {
      await screenshot();
      const state = await readState().catch(() => undefined);
      throw new Error(
        `the player did not start within ${startTimeoutMs} ms: ${pageUrl}\n` +
          `window.sluicePlayer: ${JSON.stringify(state)}\n` +
          `console errors: ${JSON.stringify(consoleErrors)}\n(${(err as Error).message.split('\n')[0]})`,
      );
    }
    const startMs = Date.now() - opened;
    await opts.onStarted?.();

    // Sample on a fixed schedule (no drift), noting when each sample was taken.
    const samples: number[] = [];
    const at: number[] = [];
    const t0 = Date.now();
    const count = Math.round((seconds * 1000) / intervalMs);
    for (let i = 0; i <= count; i++) {
      const wait = t0 + i * intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      samples.push(await currentTime());
      at.push(Date.now());
    }

    let stalls = 0;
    let played = 0;
    let lastAdvanceAt = at[0]!;
    for (let i = 1; i < samples.length; i++) {
      const step = samples[i]! - samples[i - 1]!;
      if (step > 0.001) {
        lastAdvanceAt = at[i]!;
        played += step;
      } else {
        stalls = Math.max(stalls, (at[i]! - lastAdvanceAt) / 1000);
      }
    }

    await screenshot();
    const state = (await readState()) ?? {
      type: null, url: null, live: false, engine: null, errors: [], events: [], ready: false, restarts: 0,
    };
    return {
      samples,
      sampleTimes: at,
      advanced: samples[samples.length - 1]! - samples[0]!,
      played,
      stalls,
      errors: [...state.errors],
      fatalErrors: state.errors.filter((e) => e.fatal),
      consoleErrors,
      startMs,
      state,
    };
  } finally {
    await context.close().catch(() => undefined);
  }
}
