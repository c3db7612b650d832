/**
 * ffmpeg children end to end (issue 9): an ingest makes a file a live stream, comes back
 * after its ffmpeg is killed, and follows a reload; transcode engines (libx264 at 160x120,
 * a logo overlay, stream copy) run while a publish lasts and stop when it ends; a loop is
 * refused; each child logs to its own file in ff_log_dir; and no child outlives a server
 * killed with SIGKILL.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probe, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const running: { servers: RunningServer[]; publishers: Publisher[]; dirs: string[] } = { servers: [], publishers: [], dirs: [] };

afterEach(async () => {
  await Promise.all(running.publishers.splice(0).map((p) => p.stop()));
  await Promise.all(running.servers.splice(0).map((s) => s.stop()));
  await Promise.all(running.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function conf(vhostBody: string): string {
  return `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
ff_log_dir {{dir}}/ff;
vhost __defaultVhost__ {
${vhostBody}
}
`;
}

async function start(vhostBody: string): Promise<RunningServer> {
  const server = await startServer({ confText: conf(vhostBody) });
  running.servers.push(server);
  return server;
}

/** The first log line matching `re` from line `from` on (polls; the harness keeps 5000 lines). */
async function logAfter(server: RunningServer, from: number, re: RegExp, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = server.logs.slice(from).find((l) => re.test(l));
    if (hit !== undefined) return hit;
    if (Date.now() > until) throw new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${server.logs.slice(from).slice(-60).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid in a supervisor's "started pid N" line. */
function pidOf(line: string): number {
  return Number(/started pid (\d+)/.exec(line)![1]);
}

function alive(pid: number): boolean {
  try {
    // A zombie is not a running child.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** ffprobe until the stream plays (a stream not published yet makes ffprobe wait, then give up). */
async function probeWhenLive(url: string, timeoutMs = 40_000): Promise<Awaited<ReturnType<typeof probe>>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await probe(url, { timeoutMs: 15_000 });
      if (r.streams.length > 0) return r;
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One decoded video frame as RGB24. */
function grabFrame(url: string, width: number, height: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rw_timeout', '10000000', '-i', url, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-'],
      { encoding: 'buffer', maxBuffer: 16 << 20, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr.toString()}`)) : resolve(stdout)),
    );
  });
}

/** Pids of processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`)).toString('utf8');
      if (cmd.includes(text) && alive(Number(name))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const ingest = (name: string, file: string, stream = `ing_${name}`) =>
  `  ingest ${name} { enabled on; input { type file; url ${file}; } ffmpeg ./objs/ffmpeg/bin/ffmpeg; engine { enabled off; output rtmp://127.0.0.1:[port]/live/${stream}?vhost=[vhost]; } }`;

describe('ingest', () => {
  it('makes a file a live stream, restarts it after its ffmpeg is killed, follows a reload, logs per child', async () => {
    const media = await testMedia('h264-aac');
    const server = await start(ingest('a', media));

    // (a) the file plays as a live stream
    const startedA = await server.waitForLog(/ffmpeg ingest __defaultVhost__\/a: started pid \d+/, 15_000);
    expect(server.logs.join('\n')).toMatch(/SRS's default\) does not exist; using ffmpeg from PATH/);
    const r = await probeWhenLive(server.url('live', 'ing_a'));
    expect(r.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(r.streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });

    // (b) kill -9 its ffmpeg: the supervisor says so and starts it again; the stream comes back
    const pid1 = pidOf(startedA);
    const mark = server.logs.length;
    process.kill(pid1, 'SIGKILL');
    await logAfter(server, mark, new RegExp(`ffmpeg ingest __defaultVhost__/a: pid ${pid1} was killed by SIGKILL after .*; restart 1 in 1 s`), 10_000);
    const pid2 = pidOf(await logAfter(server, mark, /ffmpeg ingest __defaultVhost__\/a: started pid \d+/, 10_000));
    expect(pid2).not.toBe(pid1);
    await logAfter(server, mark, /publish __defaultVhost__\/live\/ing_a/, 20_000);
    expect((await probeWhenLive(server.url('live', 'ing_a'))).streams.length).toBe(2);

    // (h) a reload that removes `a` and adds `b`: a's ffmpeg ends, b's starts and publishes
    const mark2 = server.logs.length;
    await writeFile(server.confFile, conf(ingest('b', media)).replace(/\{\{port\}\}/g, String(server.port)).replace(/\{\{dir\}\}/g, server.dir));
    server.process.kill('SIGHUP');
    await logAfter(server, mark2, /ingest: __defaultVhost__\/a\/0 is no longer in the config; stopping it/, 10_000);
    await logAfter(server, mark2, new RegExp(`ffmpeg ingest __defaultVhost__/a: stopped pid ${pid2}`), 10_000);
    expect(await gone(pid2)).toBe(true);
    await logAfter(server, mark2, /ffmpeg ingest __defaultVhost__\/b: started pid \d+/, 10_000);
    expect((await probeWhenLive(server.url('live', 'ing_b'))).streams.length).toBe(2);

    // (i) one log file per child in ff_log_dir, with ffmpeg's own output
    expect((await readdir(path.join(server.dir, 'ff'))).sort()).toEqual(['ffmpeg-ingest-__defaultVhost__-live-ing_a.log', 'ffmpeg-ingest-__defaultVhost__-live-ing_b.log']);
    expect(await readFile(path.join(server.dir, 'ff', 'ffmpeg-ingest-__defaultVhost__-live-ing_b.log'), 'utf8')).toMatch(/Output #0, flv, to 'rtmp:\/\/127\.0\.0\.1:\d+\/live\/ing_b'/);

  });
});

describe('transcode', () => {
  it('runs libx264, logo-overlay and copy engines while a publish lasts, refuses a loop, stops with the publisher', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-logo-'));
    running.dirs.push(tmp);
    const logo = path.join(tmp, 'logo.png');
    // A pure green 32x32 logo.
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x00ff00:size=32x32', '-frames:v', '1', logo]);
    const out = 'output rtmp://127.0.0.1:[port]/[app]?vhost=[vhost]/[stream]_[engine];';
    const server = await start(`  transcode live {
    enabled on;
    ffmpeg ffmpeg;
    engine sd { enabled on; vcodec libx264; vbitrate 100; vwidth 160; vheight 120; vpreset ultrafast; acodec aac; abitrate 32; ${out} }
    engine logo { enabled on; vfilter { i ${logo}; filter_complex 'overlay=10:10'; } vcodec libx264; vbitrate 300; vpreset ultrafast; vprofile baseline; acodec copy; ${out} }
    engine copy { enabled on; vcodec copy; acodec copy; ${out} }
    engine loop { enabled on; vcodec copy; acodec copy; output rtmp://127.0.0.1:[port]/[app]/[stream]?vhost=[vhost]; }
  }`);
    const pub = publish(await testMedia('h264-aac'), server.url('live', 'cam'), { loop: true, timeoutMs: 120_000 });
    running.publishers.push(pub);
    await pub.ready;

    // (f) the engine whose output is its input is refused, and the outputs are not transcoded again
    await server.waitForLog(/transcode __defaultVhost__\/live\/cam engine loop .*refused: its output rtmp:\/\/127\.0\.0\.1:\d+\/live\/cam\?vhost=__defaultVhost__ is its own input stream \(a loop\)/);
    const pids: Record<string, number> = {};
    for (const e of ['sd', 'logo', 'copy']) pids[e] = pidOf(await server.waitForLog(new RegExp(`ffmpeg transcode __defaultVhost__/live/cam ${e}: started pid \\d+`), 15_000));

    // (c) libx264 at 160x120 with AAC
    const sd = await probeWhenLive(server.url('live', 'cam_sd'));
    expect(sd.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 160, height: 120 });
    expect(sd.streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });
    await server.waitForLog(/transcode: __defaultVhost__\/live\/cam_sd is published by our transcoder __defaultVhost__\/live\/cam\/sd; not transcoded again \(loop guard\)/);

    // (e) copy: the source's own 320x240 H.264 and AAC
    const copy = await probeWhenLive(server.url('live', 'cam_copy'));
    expect(copy.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(copy.streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });

    // (d) the logo is in the picture: green at (26, 26), inside the 32x32 logo put at (10, 10)
    await probeWhenLive(server.url('live', 'cam_logo'));
    const frame = await grabFrame(server.url('live', 'cam_logo'), 320, 240);
    expect(frame.length).toBe(320 * 240 * 3);
    const at = (x: number, y: number) => [...frame.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3)];
    const [r, g, b] = at(26, 26);
    expect(g).toBeGreaterThan(180);
    expect(r).toBeLessThan(80);
    expect(b).toBeLessThan(80);
    // and not where the logo is not
    expect(at(200, 200)).not.toEqual(at(26, 26));

    // (i) one log file per running child, none for the refused engine
    expect((await readdir(path.join(server.dir, 'ff'))).sort()).toEqual([
      'ffmpeg-encoder-__defaultVhost__-live-cam-copy.log',
      'ffmpeg-encoder-__defaultVhost__-live-cam-logo.log',
      'ffmpeg-encoder-__defaultVhost__-live-cam-sd.log',
    ]);

    // The publisher leaves: every engine stops
    const mark = server.logs.length;
    await pub.stop();
    for (const e of ['sd', 'logo', 'copy']) {
      await logAfter(server, mark, new RegExp(`ffmpeg transcode __defaultVhost__/live/cam ${e}: stopped pid ${pids[e]}`), 10_000);
      expect(await gone(pids[e]!)).toBe(true);
    }
    expect(server.logs.slice(mark).join('\n')).not.toMatch(/restart \d+ in/);
  });
});

describe('children die with the server', () => {
  it('leaves no ffmpeg behind when the server is killed with SIGKILL', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-orphans-'));
    running.dirs.push(tmp);
    const file = path.join(tmp, 'source.flv');
    await copyFile(await testMedia('h264-aac'), file);
    // An ffmpeg that never talks to the server: it waits in open() on a FIFO nobody writes,
    // so only the parent-death signal can end it.
    const fifo = path.join(tmp, 'stall.fifo');
    execFileSync('mkfifo', [fifo]);
    const server = await start(`${ingest('o1', file)}\n${ingest('o2', fifo)}`);
    await server.waitForLog(/ffmpeg ingest __defaultVhost__\/o1: started pid/, 15_000);
    const o2 = pidOf(await server.waitForLog(/ffmpeg ingest __defaultVhost__\/o2: started pid \d+/, 15_000));
    await server.waitForLog(/publish __defaultVhost__\/live\/ing_o1/, 20_000);
    expect((await processesMentioning(tmp)).length).toBe(2);
    // The child is ffmpeg itself (setpriv execs it in place), a child of the server.
    expect(await readlink(`/proc/${o2}/exe`)).toMatch(/ffmpeg$/);

    await server.kill();
    const until = Date.now() + 3000;
    let left = await processesMentioning(tmp);
    while (left.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      left = await processesMentioning(tmp);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
  });
});
