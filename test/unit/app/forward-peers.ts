/**
 * In-process RTMP servers and publishers for the forward and edge unit tests: a real
 * RtmpServer on a free loopback port, and an RtmpClient that publishes a tiny H.264/AAC
 * stream (sequence headers, then a keyframe every 10 frames at 25 fps).
 */
import { EdgeService } from '../../../src/app/edge-service.js';
import { ForwardService } from '../../../src/app/forward-service.js';
import { RtmpServer } from '../../../src/app/rtmp-server.js';
import { parseConfigText, type SluiceConfig } from '../../../src/conf/config.js';
import { log } from '../../../src/core/logger.js';
import { Amf0EcmaArray } from '../../../src/protocol/rtmp/amf0.js';
import { RtmpClient, parseRtmpUrl } from '../../../src/protocol/rtmp/client-session.js';
import type { Consumer } from '../../../src/stream/consumer.js';
import type { SharedMessage } from '../../../src/stream/shared-message.js';
import type { Source, SourcePlayConfig } from '../../../src/stream/source.js';
import { freePort } from '../../support/ports.js';

log.configure({ level: 'error' });

export const AVC_SH = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x0d, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
export const AAC_SH = Buffer.from([0xaf, 0, 0x12, 0x10]);
export const keyframe = (): Buffer => Buffer.from([0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88]);
export const interframe = (): Buffer => Buffer.from([0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a]);
export const aacFrame = (): Buffer => Buffer.from([0xaf, 1, 0x21, 0x10]);

export const PLAY: SourcePlayConfig = { gopCache: true, gopCacheMaxFrames: 2500, timeJitter: 'full', mwLatency: 0 };

export function config(text: string): SluiceConfig {
  return parseConfigText(text, 'x.conf').config;
}

/**
 * An RtmpServer on a free port (or `port`), started. `serverId` names it (in-process servers
 * would otherwise share the process's); `services` adds forward and edge, as src/main.ts.
 */
export async function rtmpServer(
  vhostBody = '',
  port?: number,
  opts: { serverId?: string; services?: boolean } = {},
): Promise<{ server: RtmpServer; port: number; config: SluiceConfig }> {
  const p = port ?? (await freePort());
  const c = config(`listen ${p};\nvhost __defaultVhost__ { ${vhostBody} }\n`);
  const server = new RtmpServer(c, opts.serverId ? { serverId: opts.serverId } : {});
  if (opts.services) {
    server.addObserver(new ForwardService(c, server));
    server.addObserver(new EdgeService(server, c));
  }
  await server.start();
  return { server, port: p, config: c };
}

/** Feeds a Source (as a publisher would) with metadata, sequence headers and `frames` frames from `t0`. */
export function feed(source: Source, t0: number, frames: number, withHeaders = true): void {
  if (withHeaders) {
    source.onMessage(18, t0, Buffer.concat([Buffer.from([2, 0, 13]), Buffer.from('@setDataFrame'), Buffer.from([2, 0, 10]), Buffer.from('onMetaData'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 9])]));
    source.onMessage(9, t0, AVC_SH);
    source.onMessage(8, t0, AAC_SH);
  }
  for (let i = 0; i < frames; i++) {
    source.onMessage(9, t0 + i * 40, i % 10 === 0 ? keyframe() : interframe());
    source.onMessage(8, t0 + i * 40, aacFrame());
  }
}

/** A publisher of `url` sending frames every 40 ms from timestamp `t0`, until stop(). */
export async function livePublisher(url: string, t0 = 0): Promise<{ client: RtmpClient; stop(): Promise<void> }> {
  const client = new RtmpClient(parseRtmpUrl(url));
  await client.connect();
  const id = await client.createStream();
  await client.publish(id);
  client.sendMetadata(id, new Amf0EcmaArray({ width: 320, height: 240 }), t0);
  client.sendMessage(id, 9, t0, AVC_SH);
  client.sendMessage(id, 8, t0, AAC_SH);
  let i = 0;
  const timer = setInterval(() => {
    const ts = t0 + i * 40;
    client.sendMessage(id, 9, ts, i % 10 === 0 ? keyframe() : interframe());
    client.sendMessage(id, 8, ts, aacFrame());
    i++;
  }, 40);
  client.on('close', () => clearInterval(timer));
  return {
    client,
    async stop() {
      clearInterval(timer);
      if (!client.isClosed) {
        client.unpublish(id);
        await client.end();
      }
    },
  };
}

/** A player-like consumer that keeps what it gets. */
export class RecordingPlayer implements Consumer {
  readonly messages: SharedMessage[] = [];
  bytesOut = 0;
  publishes = 0;
  unpublishes = 0;
  enqueue(msg: SharedMessage): void {
    this.messages.push(msg);
  }
  flush(): void {}
  onPublish(): void {
    this.publishes++;
  }
  onUnpublish(): void {
    this.unpublishes++;
  }
  get video(): SharedMessage[] {
    return this.messages.filter((m) => m.type === 9 && !m.isSequenceHeader);
  }
}

export async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
