/**
 * A publish longer than 4.6 h (2^24 ms: timestamps move to the extended field) and past
 * 2^32 ms (the 32-bit wrap), with synthetic timestamps from our own RTMP client: players
 * see every frame with monotonic timestamps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../support/server.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";
import type { RawMessage } from "../../src/native/index.js";

const avcSequenceHeader = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1e, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
const frame = (key: boolean, size: number) => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), Buffer.alloc(size, 0x55)]);

async function publishAndWatch(server: RunningServer, stream: string, start: number, frames: number): Promise<number[]> {
  const url = server.url("live", stream);
  const pub = new RtmpClient(parseRtmpUrl(url));
  await pub.connect();
  const pid = await pub.createStream();
  await pub.publish(pid);

  const watcher = new RtmpClient(parseRtmpUrl(url));
  const got: RawMessage[] = [];
  watcher.on("media", (m) => {
    if (m.type === 9 && m.payload[1] === 1) got.push(m);
  });
  await watcher.connect();
  await watcher.play(await watcher.createStream());

  pub.sendMessage(pid, 9, start, avcSequenceHeader);
  for (let i = 0; i < frames; i++) {
    // Frames larger than the publisher's 4096-byte chunks, so fmt-3 continuation chunks
    // carry the extended timestamp too.
    pub.sendMessage(pid, 9, start + i * 40, frame(i % 25 === 0, 6000));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
  }
  const end = Date.now() + 10_000;
  while (got.length < frames && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  pub.close();
  watcher.close();
  return got.map((m) => m.timestamp);
}

describe("timestamps of long publishes", () => {
  let full: RunningServer;
  let off: RunningServer;
  beforeAll(async () => {
    full = await startServer();
    off = await startServer({ conf: "vhost off.test { play { time_jitter off; } }" });
  });
  afterAll(async () => {
    await full?.stop();
    await off?.stop();
  });

  it("relays timestamps across 2^24 ms unchanged with time_jitter off (extended timestamps both ways)", async () => {
    const start = 0xffffff - 2000;
    const ts = await publishAndWatch(off, "x?vhost=off.test", start, 100);
    expect(ts).toHaveLength(100);
    ts.forEach((t, i) => expect(t).toBe(start + i * 40));
  });

  it("keeps players' timestamps monotonic when the publisher's clock wraps past 2^32 ms", async () => {
    const start = 0x100000000 - 2000;
    const ts = await publishAndWatch(full, "wrap", start, 100);
    expect(ts).toHaveLength(100);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(40);
  });
});
