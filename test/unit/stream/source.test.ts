import { describe, it, expect } from "vitest";
import { Source } from "../../../src/stream/source.js";
import type { Consumer } from "../../../src/stream/consumer.js";
import type { SharedMessage } from "../../../src/stream/shared-message.js";
import { encodeAmf0, decodeAmf0, Amf0EcmaArray } from "../../../src/protocol/rtmp/amf0.js";

class Recorder implements Consumer {
  got: SharedMessage[] = [];
  events: string[] = [];
  flushes = 0;
  enqueue(m: SharedMessage): void {
    this.got.push(m);
  }
  flush(): void {
    this.flushes++;
  }
  onPublish(): void {
    this.events.push("publish");
  }
  onUnpublish(): void {
    this.events.push("unpublish");
  }
}

const config = { gopCache: true, gopCacheMaxFrames: 2500, timeJitter: "full" as const, mwLatency: 350 };
const pub = { id: 1 };
const avcSh = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]);
const avcKey = Buffer.from([0x17, 1, 0, 0, 0, 9]);
const avcInter = Buffer.from([0x27, 1, 0, 0, 0, 9]);
const aacSh = Buffer.from([0xaf, 0, 0x12, 0x10]);
const aacRaw = Buffer.from([0xaf, 1, 0x21]);
// Enhanced RTMP: IsExHeader | FrameType key (1) | PacketType; FourCC "hvc1".
const exHevcSh = Buffer.from([0x80 | 0x10 | 0, 0x68, 0x76, 0x63, 0x31, 1, 2, 3]);
const exHevcKey = Buffer.from([0x80 | 0x10 | 1, 0x68, 0x76, 0x63, 0x31, 0, 0, 0, 7]);

describe("Source", () => {
  it("gives a joiner metadata, sequence headers and the GOP, in that order", () => {
    const s = new Source("v", "live", "s", config);
    s.publish(pub);
    s.onMessage(18, 0, encodeAmf0("@setDataFrame", "onMetaData", new Amf0EcmaArray({ width: 320 })));
    s.onMessage(9, 0, avcSh);
    s.onMessage(8, 0, aacSh);
    s.onMessage(9, 0, avcKey);
    s.onMessage(8, 10, aacRaw);
    s.onMessage(9, 40, avcInter);
    const r = new Recorder();
    s.addConsumer(r);
    expect(r.got.map((m) => [m.type, m.timestamp])).toEqual([
      [18, 0],
      [9, 0],
      [8, 0],
      [9, 0],
      [8, 10],
      [9, 40],
    ]);
    // @setDataFrame is stripped: players get ["onMetaData", {...}].
    const meta = decodeAmf0(r.got[0]!.payload);
    expect(meta[0]).toBe("onMetaData");
    expect((meta[1] as Amf0EcmaArray).entries["width"]).toBe(320);
  });

  it("refuses a second publisher (NetStream.Publish.BadName) and takes one after the first leaves", () => {
    const s = new Source("v", "live", "s", config);
    expect(s.publish(pub)).toBe(true);
    expect(s.publish({ id: 2 })).toBe(false);
    s.unpublish(pub);
    expect(s.publish({ id: 2 })).toBe(true);
  });

  it("relays enhanced-RTMP (FourCC HEVC) video untouched and knows its keyframes and sequence headers", () => {
    const s = new Source("v", "live", "s", config);
    s.publish(pub);
    s.onMessage(9, 0, exHevcSh);
    s.onMessage(9, 0, exHevcKey);
    const r = new Recorder();
    s.addConsumer(r);
    expect(r.got.map((m) => [m.isSequenceHeader, m.isKeyframe])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(r.got[1]!.payload).toBe(exHevcKey);
  });

  it("tells consumers when the publisher leaves and returns, and forgets the old stream's headers", () => {
    const s = new Source("v", "live", "s", config);
    const r = new Recorder();
    s.addConsumer(r);
    s.publish(pub);
    s.onMessage(9, 0, avcSh);
    s.unpublish(pub);
    expect(s.videoSequenceHeader).toBeNull();
    s.publish({ id: 3 });
    expect(r.events).toEqual(["publish", "unpublish", "publish"]);
  });

  it("marks audio as a resume point only when the stream has no video", () => {
    const s = new Source("v", "live", "s", config);
    s.publish(pub);
    const r = new Recorder();
    s.addConsumer(r);
    s.onMessage(8, 0, aacRaw);
    s.onMessage(9, 0, avcKey);
    s.onMessage(8, 20, aacRaw);
    expect(r.got.map((m) => m.isRandomAccess)).toEqual([true, true, false]);
  });

  it("rejects malformed metadata with an AMF0 code", () => {
    const s = new Source("v", "live", "s", config);
    s.publish(pub);
    expect(() => s.onMessage(18, 0, Buffer.from([2, 0, 50, 0x61]))).toThrow(expect.objectContaining({ code: "ERR_AMF0_TRUNCATED" }));
  });

  it("keeps flushing every mw_latency while players keep joining (regression: joins restarted the timer)", async () => {
    const s = new Source("v", "live", "s", { ...config, mwLatency: 50 });
    const first = new Recorder();
    s.addConsumer(first);
    const joined = first.flushes;
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 20));
      s.addConsumer(new Recorder());
    }
    // 300 ms of joins every 20 ms: the 50 ms interval fired about 6 times regardless.
    expect(first.flushes - joined).toBeGreaterThanOrEqual(4);
    s.dispose();
  });
});
