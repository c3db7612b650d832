/**
 * SRS 1's RTMP bandwidth check: a vhost with bandcheck { } and our sluice-bandcheck client,
 * as processes. The check measures both directions at the vhost's limit and reports; a
 * second check within `interval` and a wrong key are refused; a stream on another vhost
 * plays through it all.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, publish, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { REPO_ROOT, startServer, type RunningServer } from '../support/server.js';
import { RtmpClient, parseRtmpUrl } from '../../src/protocol/rtmp/client-session.js';

const KEY = '35c9b402c12a7246868752e2878f7e0e';
const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
vhost __defaultVhost__ { }
vhost bandcheck.srs.com {
    chunk_size 65000;
    bandcheck {
        enabled     on;
        key         "${KEY}";
        interval    30;
        limit_kbps  2000;
    }
}
vhost silent.srs.com {
    bandcheck { enabled on; key "${KEY}"; interval 0; }
}
`;

function bandcheck(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'sluice-bandcheck.js'), url, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('bandcheck', () => {
  let server: RunningServer;
  let pub: Publisher;

  beforeAll(async () => {
    server = await startServer({ confText: CONF });
    pub = publish(await testMedia('h264-aac'), server.url('live', 'other'), { loop: true });
    await pub.ready;
  }, 60_000);

  afterAll(async () => {
    await pub?.stop();
    await server?.stop();
  });

  const url = (key: string) => `rtmp://127.0.0.1:${server.port}/app?key=${key}&vhost=bandcheck.srs.com`;

  it('measures download and upload at the vhost limit and reports, while another vhost streams', async () => {
    const [r, probed] = await Promise.all([bandcheck(url(KEY), '--json'), probe(server.url('live', 'other'))]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of ['playKbps', 'publishKbps']) {
      // At most limit_kbps (2000), and close to it on loopback.
      expect(report[k]).toBeGreaterThan(1400);
      expect(report[k]).toBeLessThanOrEqual(2200);
    }
    expect(report['playMs']).toBeGreaterThanOrEqual(3000);
    expect(report['publishMs']).toBeGreaterThanOrEqual(2900);
    expect(report['playBytes']).toBeGreaterThan(500_000);
    expect(report['endTime']! - report['startTime']!).toBeGreaterThanOrEqual(6000);
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    await server.waitForLog(/bandcheck 127\.0\.0\.1:\d+ ok: \d+ ms, play \d+ kbps \(\d+ B in \d+ ms\), publish \d+ kbps/);
  }, 40_000);

  it('refuses a check within the interval, and a wrong key, with exit code 3', async () => {
    const again = await bandcheck(url(KEY));
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/NetConnection\.Connect\.Rejected: bandcheck rejected/);
    const wrong = await bandcheck(url('nope'));
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/bandcheck: bad key/);
    await server.waitForLog(/connect refused: bandcheck rejected: the last check on this vhost was \d+ s ago, interval 30 s/);
  }, 30_000);

  it('closes a client that does not answer the check, and nothing else', async () => {
    const client = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/app?key=${KEY}&vhost=silent.srs.com/x`));
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    await client.connect();
    await closed;
    await server.waitForLog(/closed: ERR_RTMP_TIMEOUT bandcheck: no onSrsBandCheckStartingPlayBytes within 6000 ms/);
    expect((await probe(server.url('live', 'other'))).streams).toHaveLength(2);
  }, 30_000);

  it('answers usage errors with exit code 2', async () => {
    expect((await bandcheck('http://x/app')).code).toBe(2);
    expect((await bandcheck('rtmp://127.0.0.1/app/extra/parts')).code).toBe(2);
  });
});
