/**
 * `/metrics` on the exporter's port: SRS's exporter metrics and Sluice's, scraped while
 * ffmpeg publishes and an RTMP player (ffmpeg) and an HTTP-FLV player (raw socket) play;
 * the exposition is valid line by line; a reload turns the exporter off.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish, recordFlv, type Publisher } from '../support/clients.js';
import { testMedia } from '../support/fixtures.js';
import { httpStream } from '../support/http-stream.js';
import { canConnect } from '../support/ports.js';
import { startServer, type RunningServer } from '../support/server.js';
import { parseExposition, valueOf, type Family } from '../unit/app/metrics-exposition.js';

const CONF = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}/www; }
exporter { enabled on; listen 127.0.0.1:{{port:metrics}}; label x; tag y; }
vhost __defaultVhost__ {
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
  hls { enabled on; hls_path {{dir}}/hls; hls_fragment 1; hls_window 4; }
}
`;

let server: RunningServer;
let publisher: Publisher;
let metricsUrl = '';

async function scrape(): Promise<Map<string, Family>> {
  const r = await fetch(metricsUrl);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await r.text());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startServer({ confText: CONF });
  metricsUrl = `http://127.0.0.1:${server.ports['metrics']}/metrics`;
  publisher = publish(await testMedia('h264-aac'), server.url('live', 'm'), { loop: true, timeoutMs: 120_000 });
  await publisher.ready;
  await sleep(1500);
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await server?.stop();
});

describe('/metrics on the exporter port', () => {
  it('reports streams, clients by type, growing byte counters, build info and process metrics', async () => {
    // Settled, so that an early failed expectation leaves no unhandled rejection behind.
    const players = Promise.allSettled([
      recordFlv(server.url('live', 'm'), path.join(server.dir, 'rtmp-play.flv'), { seconds: 6 }),
      httpStream(`http://127.0.0.1:${server.ports['http']}/live/m.flv`, 6),
    ]);
    await sleep(2500);
    const first = await scrape();
    await sleep(1500);
    const second = await scrape();

    // SRS's metrics, SRS's names.
    expect(valueOf(second, 'srs_streams')).toBe(1);
    expect(valueOf(second, 'srs_clients')).toBe(3);
    expect(valueOf(second, 'sluice_clients', { type: 'fmle-publish' })).toBe(1);
    expect(valueOf(second, 'sluice_clients', { type: 'rtmp-play' })).toBe(1);
    expect(valueOf(second, 'sluice_clients', { type: 'flv-play' })).toBe(1);
    expect(valueOf(second, 'sluice_players', { protocol: 'rtmp' })).toBe(1);
    expect(valueOf(second, 'sluice_players', { protocol: 'http-flv' })).toBe(1);
    expect(valueOf(second, 'sluice_streams_publishing')).toBe(1);
    for (const name of ['srs_send_bytes_total', 'srs_receive_bytes_total']) {
      expect(second.get(name)?.type).toBe('counter');
      expect(valueOf(first, name)).toBeGreaterThan(0);
      expect(valueOf(second, name)!, name).toBeGreaterThan(valueOf(first, name)!);
    }
    const build = second.get('srs_build_info')!;
    expect(build.type).toBe('gauge');
    expect(build.samples[0]!.labels).toMatchObject({ label: 'x', tag: 'y', pid: String(server.pid) });
    expect(build.samples[0]!.labels['server']).toMatch(/^vid-/);
    expect(second.get('srs_node_uname_info')?.samples[0]?.labels['sysname']).toBe('Linux');
    expect(valueOf(second, 'srs_memory')).toBeGreaterThan(1000);
    expect(second.get('srs_cpu_percent')?.type).toBe('gauge');

    // HLS wrote segments; the queues are there per protocol.
    expect(valueOf(second, 'sluice_hls_streams')).toBe(1);
    expect(valueOf(second, 'sluice_hls_segments_total')).toBeGreaterThan(0);
    expect(valueOf(second, 'sluice_player_queue_messages', { protocol: 'rtmp' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(second, 'sluice_frames_dropped_total', { reason: 'player_queue' })).toBeGreaterThanOrEqual(0);

    // Node's process metrics: event-loop lag, RSS.
    expect(second.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(valueOf(second, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(valueOf(second, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);

    for (const r of await players) expect(r.status).toBe('fulfilled');
    const after = await scrape();
    expect(valueOf(after, 'srs_clients')).toBe(1);
    expect(valueOf(after, 'srs_send_bytes_total')).toBeGreaterThanOrEqual(valueOf(second, 'srs_send_bytes_total')!);
  });

  it('counts every client ever connected in srs_clients_total', async () => {
    // The publisher and the two players of the test above, at least.
    expect(valueOf(await scrape(), 'srs_clients_total')).toBeGreaterThanOrEqual(3);
  });

  it('answers 404 for other paths', async () => {
    const r = await fetch(`http://127.0.0.1:${server.ports['metrics']}/api/v1/nope`);
    expect(r.status).toBe(404);
  });

  it('stops listening when a reload disables the exporter', async () => {
    await writeFile(server.confFile, server.confText.replace('exporter { enabled on;', 'exporter { enabled off;'));
    const before = server.logs.length;
    server.process.kill('SIGHUP');
    const end = Date.now() + 5000;
    while (!server.logs.slice(before).some((l) => /reload: done/.test(l))) {
      if (Date.now() > end) throw new Error(`no reload after SIGHUP:\n${server.logs.slice(before).join('\n')}`);
      await sleep(50);
    }
    expect(server.logs.slice(before).some((l) => /reload: exporter disabled/.test(l))).toBe(true);
    expect(await canConnect(server.ports['metrics']!)).toBe(false);
  });
});

describe('an exporter enabled only by a reload', () => {
  it("answers SRS's 1090 on the API port while off, and real metrics once a reload turns it on", async () => {
    const text = `listen {{port}};
daemon off;
srs_log_tank console;
pid {{dir}}/sluice.pid;
http_api { enabled on; listen 127.0.0.1:{{port:api}}; }
exporter { enabled off; listen 127.0.0.1:{{port:metrics}}; }
vhost __defaultVhost__ { }
`;
    const s = await startServer({ confText: text });
    try {
      const onApi = `http://127.0.0.1:${s.ports['api']}/metrics`;
      // The RTMP port is up before the API's: wait for the API.
      await s.waitForLog(/api listen at/);
      expect(await (await fetch(onApi)).json()).toEqual({ code: 1090 });
      expect(await canConnect(s.ports['metrics']!)).toBe(false);
      await writeFile(s.confFile, s.confText.replace('exporter { enabled off;', 'exporter { enabled on;'));
      const before = s.logs.length;
      s.process.kill('SIGHUP');
      await s.waitForLog(/reload: done/);
      expect(s.logs.slice(before).some((l) => /exporter listen at http:\/\/127\.0\.0\.1:\d+\/metrics/.test(l))).toBe(true);
      for (const url of [onApi, `http://127.0.0.1:${s.ports['metrics']}/metrics`]) {
        const r = await fetch(url);
        expect(r.status).toBe(200);
        const families = parseExposition(await r.text());
        expect(valueOf(families, 'srs_streams')).toBe(0);
        expect(families.has('process_resident_memory_bytes')).toBe(true);
      }
    } finally {
      await s.stop();
    }
  }, 30_000);
});
