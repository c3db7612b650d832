/**
 * Publish with real ffmpeg, play with three real clients (ffprobe, ffmpeg -c copy,
 * rtmpdump) and with our own RTMP client where a test needs more control than they give.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../support/fixtures.js";
import { startServer, type RunningServer } from "../support/server.js";
import { analyzeTimestamps, probe, publish, readFlvFile, recordFlv, rtmpdump, type Publisher } from "../support/clients.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";
import type { RawMessage } from "../../src/native/index.js";

const isVideoKey = (m: RawMessage) => m.type === 9 && m.payload.length > 1 && (m.payload[0]! >> 4) === 1 && m.payload[1] === 1;
const isVideoFrame = (m: RawMessage) => m.type === 9 && m.payload.length > 1 && m.payload[1] === 1;

async function player(url: string): Promise<{ client: RtmpClient; messages: RawMessage[]; statuses: string[]; streamId: number }> {
  const client = new RtmpClient(parseRtmpUrl(url));
  const messages: RawMessage[] = [];
  const statuses: string[] = [];
  client.on("media", (m) => messages.push(m));
  client.on("status", (info) => statuses.push(String(info["code"])));
  await client.connect();
  const streamId = await client.createStream();
  await client.play(streamId);
  return { client, messages, statuses, streamId };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("RTMP publish and play with real clients", () => {
  let server: RunningServer;
  let media: string;
  let pub: Publisher;
  let tmp: string;

  beforeAll(async () => {
    media = await testMedia("h264-aac");
    tmp = await mkdtemp(path.join(os.tmpdir(), "sluice-e2e-"));
    server = await startServer();
    pub = publish(media, server.url("live", "main"), { loop: true });
    await pub.ready;
  });

  afterAll(async () => {
    await pub?.stop();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("ffprobe sees H.264 320x240 and AAC 44.1 kHz stereo", async () => {
    const r = await probe(server.url("live", "main"));
    const v = r.streams.find((s) => s.codec_type === "video");
    const a = r.streams.find((s) => s.codec_type === "audio");
    expect(v).toMatchObject({ codec_name: "h264", width: 320, height: 240 });
    expect(a).toMatchObject({ codec_name: "aac", sample_rate: "44100", channels: 2 });
  });

  it("ffmpeg -c copy records continuous audio and video that starts at a keyframe", async () => {
    const out = path.join(tmp, "ffmpeg.flv");
    await recordFlv(server.url("live", "main"), out, { seconds: 4 });
    const flv = await readFlvFile(out);
    const ts = analyzeTimestamps(flv.tags);
    expect(ts.video.frames).toBeGreaterThanOrEqual(4 * 25 * 0.9);
    expect(ts.audio.frames).toBeGreaterThanOrEqual(4 * 43 * 0.9);
    expect(ts.firstVideoIsKeyframe).toBe(true);
    expect(ts.monotonic).toBe(true);
    expect(ts.video.maxGapMs).toBeLessThanOrEqual(80);
    expect(ts.audio.maxGapMs).toBeLessThanOrEqual(80);
  });

  it("rtmpdump plays the stream with continuous timestamps", async () => {
    const out = path.join(tmp, "rtmpdump.flv");
    const r = await rtmpdump(server.url("live", "main"), out, { seconds: 4 });
    expect(r.bytes).toBeGreaterThan(10_000);
    const flv = await readFlvFile(out);
    const ts = analyzeTimestamps(flv.tags);
    expect(ts.video.frames).toBeGreaterThanOrEqual(50);
    expect(ts.monotonic).toBe(true);
    expect(ts.video.maxGapMs).toBeLessThanOrEqual(80);
  });

  it("gives a late joiner the cached GOP: its first frame is the keyframe the stream last had", async () => {
    const a = await player(server.url("live", "main"));
    // Join about 1 s into a GOP (2 s GOPs), so the next keyframe is a second away.
    let lastKey = -1;
    let joinAt = -1;
    await until(
      () => {
        for (const m of a.messages) if (isVideoKey(m)) lastKey = m.timestamp;
        const last = a.messages.filter(isVideoFrame).at(-1);
        if (lastKey >= 0 && last && last.timestamp - lastKey >= 800 && last.timestamp - lastKey <= 1200) {
          joinAt = last.timestamp;
          return true;
        }
        return false;
      },
      10_000,
      "the middle of a GOP",
    );
    const b = await player(server.url("live", "main"));
    await until(() => b.messages.some(isVideoFrame), 5000, "the joiner's first frame");
    const first = b.messages.find(isVideoFrame)!;
    expect(isVideoKey(first)).toBe(true);
    expect(first.timestamp).toBe(lastKey);
    expect(first.timestamp).toBeLessThan(joinAt);
    // Sequence headers came before it.
    const firstIndex = b.messages.indexOf(first);
    expect(b.messages.slice(0, firstIndex).some((m) => m.type === 9 && m.payload[1] === 0)).toBe(true);
    a.client.close();
    b.client.close();
  });

  it("sends onMetaData and the sequence headers to a player before media", async () => {
    const p = await player(server.url("live", "main"));
    await until(() => p.messages.length > 5, 5000, "media");
    const [meta, ...rest] = p.messages.filter((m) => !m.payload.includes(Buffer.from("|RtmpSampleAccess")));
    expect(meta!.type).toBe(18);
    expect(meta!.payload.includes(Buffer.from("onMetaData"))).toBe(true);
    expect(rest.slice(0, 2).map((m) => [m.type, m.payload[1]])).toEqual(
      expect.arrayContaining([
        [9, 0],
        [8, 0],
      ]),
    );
    p.client.close();
  });

  it("serves two streams at once", async () => {
    const other = publish(await testMedia("h264-only"), server.url("live", "second"), { loop: true });
    try {
      await other.ready;
      const [one, two] = await Promise.all([probe(server.url("live", "main")), probe(server.url("live", "second"))]);
      expect(one.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
      expect(two.streams.map((s) => s.codec_type)).toEqual(["video"]);
    } finally {
      await other.stop();
    }
  });

  it("refuses a second publisher of a live stream with NetStream.Publish.BadName", async () => {
    const client = new RtmpClient(parseRtmpUrl(server.url("live", "main")));
    await client.connect();
    const id = await client.createStream();
    await expect(client.publish(id)).rejects.toThrow(/NetStream\.Publish\.BadName/);
    client.close();
    // The first publisher is undisturbed.
    const r = await probe(server.url("live", "main"));
    expect(r.streams).toHaveLength(2);
  });

  it("stops and resumes audio for a player that sends receiveAudio false/true", async () => {
    const p = await player(server.url("live", "main"));
    await until(() => p.messages.some((m) => m.type === 8), 5000, "audio");
    p.client.receive(p.streamId, "audio", false);
    await new Promise((r) => setTimeout(r, 700)); // what was in flight arrives
    const at = p.messages.length;
    await new Promise((r) => setTimeout(r, 1000));
    const during = p.messages.slice(at);
    expect(during.some(isVideoFrame)).toBe(true);
    expect(during.some((m) => m.type === 8)).toBe(false);
    p.client.receive(p.streamId, "audio", true);
    await until(() => p.messages.slice(at + during.length).some((m) => m.type === 8), 5000, "audio again");
    p.client.close();
  });

  it("pauses and resumes a player, resuming at a keyframe", async () => {
    const p = await player(server.url("live", "main"));
    await until(() => p.messages.some(isVideoFrame), 5000, "media");
    p.client.pause(p.streamId, true);
    await until(() => p.statuses.includes("NetStream.Pause.Notify"), 5000, "Pause.Notify");
    await new Promise((r) => setTimeout(r, 600)); // what was in flight arrives
    const atPause = p.messages.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.messages.length).toBe(atPause);
    p.client.pause(p.streamId, false);
    await until(() => p.statuses.includes("NetStream.Unpause.Notify"), 5000, "Unpause.Notify");
    await until(() => p.messages.slice(atPause).some(isVideoFrame), 5000, "media after unpause");
    expect(isVideoKey(p.messages.slice(atPause).find(isVideoFrame)!)).toBe(true);
    p.client.close();
  });
});

describe("RTMP publishers coming and going", () => {
  let server: RunningServer;
  let media: string;

  beforeAll(async () => {
    media = await testMedia("h264-aac");
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a player that arrives first waits, stays through an unpublish, and plays the next publisher", async () => {
    const p = await player(server.url("live", "later"));
    await new Promise((r) => setTimeout(r, 300));
    expect(p.messages.filter(isVideoFrame)).toHaveLength(0);

    const first = publish(media, server.url("live", "later"), { loop: true });
    await first.ready;
    await until(() => p.messages.filter(isVideoFrame).length > 10, 10_000, "media from the first publisher");
    expect(isVideoKey(p.messages.find(isVideoFrame)!)).toBe(true);
    await first.stop();
    await until(() => p.statuses.includes("NetStream.Play.UnpublishNotify"), 5000, "UnpublishNotify");
    const before = p.messages.length;
    const lastTs = p.messages.at(-1)!.timestamp;

    const second = publish(media, server.url("live", "later"), { loop: true });
    await second.ready;
    await until(() => p.messages.slice(before).filter(isVideoFrame).length > 10, 10_000, "media from the second publisher");
    const resumed = p.messages.slice(before).filter((m) => m.type === 8 || isVideoFrame(m));
    expect(isVideoKey(resumed.find(isVideoFrame)!)).toBe(true);
    // time_jitter full keeps the player's clock going forwards across publishers.
    expect(resumed[0]!.timestamp).toBeGreaterThanOrEqual(lastTs);
    await second.stop();
    p.client.close();
  });

  it("lets ffmpeg republish the same stream after the first publisher stops", async () => {
    for (let i = 0; i < 2; i++) {
      const pub = publish(media, server.url("live", "again"), { loop: true });
      await pub.ready;
      const r = await probe(server.url("live", "again"));
      expect(r.streams).toHaveLength(2);
      await pub.stop();
    }
  });
});
