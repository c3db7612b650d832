/**
 * sluice-publish and sluice-play (bin/, over the compiled dist/) against Sluice and against
 * nginx-rtmp (the Debian nginx-light + libnginx-mod-rtmp, started here on a free port),
 * checked with ffmpeg/ffprobe and with the test's own FLV reader (test/support/flv.ts).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeTimestamps, parseFlv, probe, publish, readFlvFile, type FlvTag } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { canConnect, freePort } from '../support/ports.js';
import { collectLines, spawnTracked, stopProcess, tail, type TrackedProcess } from '../support/procs.js';
import { REPO_ROOT, startServer, type RunningServer } from '../support/server.js';

interface Tool {
  readonly entry: TrackedProcess;
  readonly stderr: string[];
  readonly stdout: Buffer[];
  /** Resolves with the first stderr line matching `re`; rejects if the tool exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Exit code (null when killed by a signal), with stdout and stderr. */
  readonly done: Promise<{ code: number | null; stdout: Buffer; stderr: string }>;
}

/** Starts `node bin/<tool>.js args...`, tracked (killed when the test ends). */
function tool(name: 'sluice-play' | 'sluice-publish', args: string[]): Tool {
  const entry = spawnTracked(process.execPath, [path.join(REPO_ROOT, 'bin', `${name}.js`), ...args], {
    cwd: REPO_ROOT,
    name: `${name} ${args.join(' ')}`,
  });
  const stderr: string[] = [];
  entry.logs = stderr;
  const waiters = new Set<() => void>();
  collectLines(entry.proc.stderr, stderr, { onLine: () => waiters.forEach((w) => w()) });
  const stdout: Buffer[] = [];
  entry.proc.stdout?.on('data', (c: Buffer) => stdout.push(c));
  const closed = new Promise<void>((r) => entry.proc.once('close', () => r()));
  const done = closed.then(() => ({ code: entry.proc.exitCode, stdout: Buffer.concat(stdout), stderr: stderr.join('\n') }));
  let exited = false;
  void closed.then(() => {
    exited = true;
    waiters.forEach((w) => w());
  });
  const waitFor = (re: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = stderr.find((l) => re.test(l));
        if (hit !== undefined) finish(() => resolve(hit));
        else if (exited) finish(() => reject(new Error(`${name} exited (${entry.proc.exitCode}) before printing ${re}\n${tail(stderr)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${name} printed no ${re} in ${timeoutMs} ms\n${tail(stderr)}`))), timeoutMs);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  return { entry, stderr, stdout, waitFor, done };
}

/** Runs a tool to its end (bounded), for the error cases. */
async function runTool(name: 'sluice-play' | 'sluice-publish', args: string[], timeoutMs = 15_000) {
  const t = tool(name, args);
  const timer = setTimeout(() => void stopProcess(t.entry, { signal: 'SIGKILL' }), timeoutMs);
  try {
    return await t.done;
  } finally {
    clearTimeout(timer);
  }
}

const frames = (tags: FlvTag[]) => analyzeTimestamps(tags);

/** A played FLV: metadata first, both tracks, timestamps that never go back and no holes. */
function expectContinuous(tags: FlvTag[], minSeconds: number, opts: { fromStart?: boolean; videoFromKeyframe?: boolean } = {}): void {
  const r = frames(tags);
  expect(tags[0]?.scriptName, 'the first tag is the metadata').toBe('onMetaData');
  expect(r.monotonic, 'timestamps never go back within a track').toBe(true);
  // A server without a GOP cache (nginx-rtmp) starts video at the next keyframe: up to a
  // 2 s GOP later than audio.
  const videoSeconds = opts.videoFromKeyframe ? minSeconds - 2 : minSeconds;
  expect(r.videoFrames).toBeGreaterThanOrEqual(Math.floor(videoSeconds * 25 * 0.9));
  expect(r.audioFrames).toBeGreaterThanOrEqual(Math.floor(minSeconds * 43 * 0.9));
  expect(r.maxGapMs, 'no hole between frames').toBeLessThanOrEqual(100);
  expect(r.durationMs).toBeGreaterThanOrEqual(minSeconds * 1000 - 100);
  if (opts.fromStart) {
    expect(r.firstVideoTagIsSequenceHeader).toBe(true);
    expect(tags.some((t) => t.type === 'audio' && t.isSequenceHeader)).toBe(true);
  }
}

// ---- nginx-rtmp ------------------------------------------------------------------------

const NGINX_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** The nginx binary and how to load the RTMP module, or why nginx-rtmp cannot run here. */
function findNginx(): { bin: string; loadModule: string } | string {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  const bin = which.stdout.trim().split('\n')[0];
  if (!bin) return 'nginx is not installed (Debian: apt-get install nginx-light libnginx-mod-rtmp)';
  if (existsSync(NGINX_MODULE)) return { bin, loadModule: `load_module ${NGINX_MODULE};` };
  const v = spawnSync(bin, ['-V'], { encoding: 'utf8' });
  if (/rtmp/i.test(`${v.stdout}${v.stderr}`)) return { bin, loadModule: '' };
  return `nginx has no RTMP module (Debian: apt-get install libnginx-mod-rtmp; looked for ${NGINX_MODULE})`;
}

const nginx = findNginx();
if (typeof nginx === 'string') console.warn(`[rtmp-client-tools] skipping the nginx-rtmp tests: ${nginx}`);

interface RunningNginx {
  port: number;
  url(app: string, stream: string): string;
  logs: string[];
  stop(): Promise<void>;
}

/** nginx in the foreground, one process (`daemon off; master_process off;`), on a free port. */
async function startNginx(dir: string, found: { bin: string; loadModule: string }): Promise<RunningNginx> {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(
    conf,
    [
      found.loadModule,
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      'error_log stderr info;',
      'events { worker_connections 256; }',
      `rtmp { server { listen 127.0.0.1:${port}; application live { live on; } } }`,
      '',
    ].join('\n'),
  );
  // -e stderr: no attempt at the packaged /var/log/nginx/error.log before the conf is read.
  const entry = spawnTracked(found.bin, ['-c', conf, '-p', dir, '-e', 'stderr'], { name: `nginx-rtmp :${port}` });
  const logs: string[] = [];
  entry.logs = logs;
  collectLines(entry.proc.stderr, logs);
  collectLines(entry.proc.stdout, logs);
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port, '127.0.0.1', 250))) {
    if (entry.proc.exitCode !== null || Date.now() > deadline) {
      await stopProcess(entry, { graceMs: 500 });
      throw new Error(`nginx-rtmp did not start on ${port}:\n${tail(logs)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (app, stream) => `rtmp://127.0.0.1:${port}/${app}/${stream}`,
    logs,
    stop: () => stopProcess(entry, { signal: 'SIGQUIT', graceMs: 2000 }),
  };
}

// ---- the tests ---------------------------------------------------------------------------

let tmp: string;
/** 4 s of the h264-aac fixture (keyframes at 0 and 2 s), so that a whole publish is short. */
let short: string;
let sluice: RunningServer;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-client-tools-'));
  const media = await testMedia('h264-aac');
  short = path.join(tmp, 'short.flv');
  await new Promise<void>((resolve, reject) =>
    execFile('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', media, '-t', '4', '-c', 'copy', '-f', 'flv', short], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  sluice = await startServer();
});

afterAll(async () => {
  await sluice?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('sluice-publish and sluice-play with Sluice', () => {
  it('publishes a file in real time that ffprobe and sluice-play receive whole; both end cleanly', async () => {
    const url = sluice.url('live', 'tools-a');
    // The player comes first and waits, so that it gets the file from its first tag.
    const out = path.join(tmp, 'a.flv');
    const play = tool('sluice-play', [url, '-o', out]);
    await play.waitFor(/NetStream\.Play\.Start/);
    const started = Date.now();
    const pub = tool('sluice-publish', [short, url]);
    await pub.waitFor(/NetStream\.Publish\.Start/);
    const probed = await probe(url);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);

    const p = await pub.done;
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/complex handshake \(digest scheme [01]\)/);
    expect(p.stderr).toMatch(/end of .*short\.flv/);
    // Paced as the file's timestamps say: 4 s of media take about 4 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3700);

    // The server's UnpublishNotify ends the player.
    const r = await play.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/complex handshake \(digest scheme [01]\)/);
    expect(r.stderr).toMatch(/NetStream\.Play\.Start/);
    expect(r.stderr).toMatch(/NetStream\.Play\.UnpublishNotify/);
    const file = await readFlvFile(out);
    expectContinuous(file.tags, 3.8, { fromStart: true });
    // Every frame of the file, none twice: Sluice starts a waiting player at the first
    // keyframe, so only the audio frames before it (one, at 0 ms) are not played.
    const sent = frames((await readFlvFile(short)).tags);
    expect(frames(file.tags).videoFrames).toBe(sent.videoFrames);
    expect(frames(file.tags).audioFrames).toBeGreaterThanOrEqual(sent.audioFrames - 2);
    expect(frames(file.tags).audioFrames).toBeLessThanOrEqual(sent.audioFrames);
    expect(file.truncated).toBe(false);
  });

  it('plays a stream ffmpeg publishes, for --seconds, to stdout with -o -, with either handshake', async () => {
    const media = await testMedia('h264-aac');
    const url = sluice.url('live', 'tools-b');
    const ff = publish(media, url, { loop: true });
    await ff.ready;
    const r = await runTool('sluice-play', [url, '-o', '-', '--seconds', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 s of media received/);
    const flv = parseFlv(r.stdout);
    expect(flv.truncated).toBe(false);
    expectContinuous(flv.tags, 2.9, { fromStart: true });
    expect(frames(flv.tags).durationMs).toBeLessThan(3000);
    // What it wrote is a file ffprobe reads.
    const file = path.join(tmp, 'b.flv');
    await writeFile(file, r.stdout);
    const probed = await probe(file);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    // And with the simple handshake, when asked.
    const simple = await runTool('sluice-play', [url, '--seconds', '1', '--handshake', 'simple']);
    expect(simple.code, simple.stderr).toBe(0);
    expect(simple.stderr).toMatch(/simple handshake/);
    await ff.stop();
  });

  it('--loop goes on past the end of the file with timestamps that keep rising and no sequence header resent', async () => {
    // time_jitter off: Sluice relays the publisher's timestamps as they are, so that the
    // player sees what sluice-publish sent.
    const server = await startServer({
      confText: 'listen {{port}};\ndaemon off;\nsrs_log_tank console;\npid {{dir}}/sluice.pid;\nvhost __defaultVhost__ { play { time_jitter off; } }\n',
    });
    try {
      const url = server.url('live', 'loop');
      const pub = tool('sluice-publish', [short, url, '--loop']);
      await pub.waitFor(/NetStream\.Publish\.Start/);
      const r = await runTool('sluice-play', [url, '-o', '-', '--seconds', '5']);
      expect(r.code, r.stderr).toBe(0);
      const tags = parseFlv(r.stdout).tags;
      expectContinuous(tags, 4.9, { fromStart: true });
      const report = frames(tags);
      // Past the 4 s file's end and on: one stream of timestamps.
      expect(report.video.lastMs!).toBeGreaterThan(4500);
      expect(report.monotonicInterleaved).toBe(true);
      expect(tags.filter((t) => t.type === 'video' && t.isSequenceHeader)).toHaveLength(1);
      expect(tags.filter((t) => t.type === 'audio' && t.isSequenceHeader)).toHaveLength(1);
      expect(tags.filter((t) => t.type === 'script')).toHaveLength(1);
      pub.entry.proc.kill('SIGINT');
      const p = await pub.done;
      expect(p.code, p.stderr).toBe(0);
      expect(p.stderr).toMatch(/SIGINT: unpublishing/);
      expect(p.stderr).toMatch(/pass 2: .*short\.flv from the start/);
    } finally {
      await server.stop();
    }
  });
});

describe.skipIf(typeof nginx === 'string' && !process.env['CI'])('sluice-publish and sluice-play with nginx-rtmp', () => {
  let server: RunningNginx;

  beforeAll(async () => {
    // In CI these tests never skip: a missing nginx-rtmp fails them, saying why.
    if (typeof nginx === 'string') throw new Error(nginx);
    server = await startNginx(tmp, nginx);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('publishes with --loop to nginx-rtmp, played by ffprobe and sluice-play; SIGTERM unpublishes in order', async () => {
    const url = server.url('live', 'tools-n');
    const pub = tool('sluice-publish', [short, url, '--loop']);
    await pub.waitFor(/NetStream\.Publish\.Start/);
    const out = path.join(tmp, 'n.flv');
    const [probed, played] = await Promise.all([probe(url), runTool('sluice-play', [url, '-o', out, '--seconds', '6'])]);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stderr).toMatch(/complex handshake \(digest scheme [01]\), server chunk size 4096/);
    const tags = (await readFlvFile(out)).tags;
    // nginx-rtmp has no GOP cache: the player starts where the stream is, past the 4 s loop point.
    expectContinuous(tags, 5.9, { videoFromKeyframe: true });
    expect(frames(tags).monotonicInterleaved).toBe(true);

    // A player that stays until the stream ends, then the publisher is stopped.
    const waiting = tool('sluice-play', [url]);
    await waiting.waitFor(/NetStream\.Play\.Start/);
    pub.entry.proc.kill('SIGTERM');
    const p = await pub.done;
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/complex handshake \(digest scheme [01]\)/);
    expect(p.stderr).toMatch(/SIGTERM: unpublishing/);
    const w = await waiting.done;
    expect(w.code, w.stderr).toBe(0);
    // nginx-rtmp ends a player with StreamEOF and NetStream.Play.UnpublishNotify.
    expect(w.stderr).toMatch(/StreamEOF|UnpublishNotify/);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.logs.join('\n')).toMatch(/deleteStream/);
  });

  it('plays from nginx-rtmp what ffmpeg publishes, with either handshake', async () => {
    const media = await testMedia('h264-aac');
    const url = server.url('live', 'tools-f');
    const ff = publish(media, url, { loop: true });
    await ff.ready;
    const out = path.join(tmp, 'f.flv');
    const r = await runTool('sluice-play', [url, '-o', out, '--seconds', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/complex handshake/);
    expectContinuous((await readFlvFile(out)).tags, 2.9, { videoFromKeyframe: true });
    const simple = await runTool('sluice-play', [url, '--seconds', '1', '--handshake', 'simple']);
    expect(simple.code, simple.stderr).toBe(0);
    expect(simple.stderr).toMatch(/simple handshake/);
    await ff.stop();
  });

  it('fails with a message when nginx-rtmp has no such app', async () => {
    const r = await runTool('sluice-play', [server.url('nosuchapp', 'x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/closed the connection during connect \(is "nosuchapp" an app it serves\?\)/);
  });
});

describe('the client tools on errors', () => {
  it('exit 1 naming the address when the connection is refused', async () => {
    const port = await freePort();
    const play = await runTool('sluice-play', [`rtmp://127.0.0.1:${port}/live/x`]);
    expect(play.code).toBe(1);
    expect(play.stderr).toMatch(new RegExp(`error: cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    const pub = await runTool('sluice-publish', [short, `rtmp://127.0.0.1:${port}/live/x`]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(/ECONNREFUSED/);
  });

  it('exit 3 with the server code when Sluice refuses the play or the publish', async () => {
    const server = await startServer({
      confText: 'listen {{port}};\ndaemon off;\nsrs_log_tank console;\npid {{dir}}/sluice.pid;\nvhost __defaultVhost__ { security { enabled on; deny play all; deny publish all; } }\n',
    });
    try {
      const play = await runTool('sluice-play', [server.url('live', 'x')]);
      expect(play.code).toBe(3);
      expect(play.stderr).toMatch(/error: .*NetStream\.Play\.Rejected/);
      const pub = await runTool('sluice-publish', [short, server.url('live', 'x')]);
      expect(pub.code).toBe(3);
      expect(pub.stderr).toMatch(/error: .*NetStream\.Publish\.Rejected/);
    } finally {
      await server.stop();
    }
  });

  it('exit 2 with a message on a bad URL, a file that is not FLV, a bad option', async () => {
    const url = await runTool('sluice-play', ['http://127.0.0.1/live/x']);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/not an rtmp:\/\/ URL/);
    const noStream = await runTool('sluice-publish', [short, 'rtmp://127.0.0.1/live']);
    expect(noStream.code).toBe(2);
    expect(noStream.stderr).toMatch(/no app or stream name/);
    const notFlv = await runTool('sluice-publish', [path.join(REPO_ROOT, 'package.json'), sluice.url('live', 'x')]);
    expect(notFlv.code).toBe(2);
    expect(notFlv.stderr).toMatch(/not an FLV file/);
    const missing = await runTool('sluice-publish', [path.join(tmp, 'none.flv'), sluice.url('live', 'x')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ENOENT/);
    const option = await runTool('sluice-play', [sluice.url('live', 'x'), '--seconds', 'soon']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/--seconds wants a positive number/);
  });
});
