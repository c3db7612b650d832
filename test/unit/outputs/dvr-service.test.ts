/**
 * DvrService: dvr_apply (SRS's srs_config_apply_filter), a recorder attached to the Source
 * at publish and finished at unpublish, and on_dvr told of each file with the publisher.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DvrService, dvrApplies } from '../../../src/app/dvr-service.js';
import type { HookClient, HookStream, StreamHooks } from '../../../src/app/stream-hooks.js';
import type { PublishContext } from '../../../src/app/stream-observer.js';
import { parseConfigText, type VhostConfig } from '../../../src/conf/config.js';
import { Source } from '../../../src/stream/source.js';

describe('dvrApplies', () => {
  it.each([
    [['all'], 'live', 'cam', true],
    [[], 'live', 'cam', true],
    [['live/cam'], 'live', 'cam', true],
    [['live/a', 'live/cam'], 'live', 'cam', true],
    [['live/a'], 'live', 'cam', false],
    [['live'], 'live', 'cam', false],
    [['all', 'live/a'], 'live', 'cam', false], // as SRS: "all" only alone
  ] as const)('%j covers %s/%s: %s', (apply, app, stream, want) => {
    expect(dvrApplies(apply, app, stream)).toBe(want);
  });
});

describe('DvrService', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-dvrsvc-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function vhost(dvr: string, hooks = 'http_hooks { enabled on; on_dvr http://127.0.0.1:9/dvr; }'): VhostConfig {
    const enabled = dvr.includes('enabled') ? '' : 'enabled on;';
    const { config } = parseConfigText(`vhost __defaultVhost__ { dvr { ${enabled} dvr_path ${dir}/[app]/[stream].flv; ${dvr} } ${hooks} }`, 'x.conf');
    return config.vhosts.get('__defaultVhost__')!;
  }

  function setup(v: VhostConfig) {
    const calls: { client: HookClient; stream: HookStream; file: string }[] = [];
    const hooks = { dvr: (client: HookClient, stream: HookStream, file: string) => calls.push({ client, stream, file }) } as unknown as StreamHooks;
    const service = new DvrService(hooks);
    const publish = (name: string) => {
      const source = new Source(v.name, 'live', name, { gopCache: true, gopCacheMaxFrames: 100, timeJitter: 'full', mwLatency: 0 });
      const publisher = { id: 7 };
      source.publish(publisher);
      const ctx: PublishContext = {
        close: () => {},
        client: { id: 7, ip: '127.0.0.1', vhost: v, app: 'live', tcUrl: 'rtmp://127.0.0.1/live', pageUrl: '' },
        stream: { stream: name, param: '?k=v' },
      };
      service.published(source, v, ctx);
      // A keyframe and a second of frames.
      source.onMessage(9, 0, Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff, 0xe0, 0]));
      for (let t = 0; t <= 1000; t += 40) source.onMessage(9, t, Buffer.from([t === 0 ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
      return {
        source,
        unpublish: () => {
          source.unpublish(publisher);
          service.unpublished(source);
        },
      };
    };
    return { calls, service, publish };
  }

  it('records the streams dvr_apply names, and tells on_dvr of each file with the publisher', async () => {
    const { calls, service, publish } = setup(vhost('dvr_apply live/cam;'));
    const cam = publish('cam');
    const other = publish('other');
    expect(cam.source.consumerCount).toBe(1);
    expect(other.source.consumerCount).toBe(0);
    expect(service.active).toHaveLength(1);
    cam.unpublish();
    other.unpublish();
    expect(cam.source.consumerCount).toBe(0);
    await service.stop();
    expect(await readdir(path.join(dir, 'live'))).toEqual(['cam.flv']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.file).toBe(path.join(dir, 'live/cam.flv'));
    expect(calls[0]!.stream).toEqual({ stream: 'cam', param: '?k=v' });
    expect(calls[0]!.client.id).toBe(7);
  });

  it('records nothing with dvr off, and calls no hook without on_dvr', async () => {
    const off = setup(vhost('enabled off;'));
    expect(off.publish('cam').source.consumerCount).toBe(0);
    const noHook = setup(vhost('', ''));
    noHook.publish('cam').unpublish();
    await noHook.service.stop();
    expect(await readdir(path.join(dir, 'live'))).toEqual(['cam.flv']);
    expect(noHook.calls).toHaveLength(0);
  });

  it('completes the files of publishes still running when the server stops', async () => {
    const { service, publish, calls } = setup(vhost(''));
    publish('cam');
    await service.stop();
    expect(await readdir(path.join(dir, 'live'))).toEqual(['cam.flv']);
    expect(calls).toHaveLength(1);
  });
});
