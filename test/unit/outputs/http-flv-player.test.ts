import { describe, expect, it } from "vitest";
import { encodeFlvTag, flvHeader } from "../../../src/format/flv.js";
import { HttpFlvPlayer, type FlvSink } from "../../../src/outputs/http-flv/http-flv-player.js";
import { MessageFlags, SharedMessage } from "../../../src/stream/shared-message.js";

class FakeSink implements FlvSink {
  blocked = false;
  batches: Buffer[][] = [];
  write(buffers: readonly Buffer[], count: number): void {
    this.batches.push(buffers.slice(0, count));
  }
}

const key = (ts: number) => new SharedMessage(9, ts, Buffer.from([0x17, 1, 0, 0, 0, 1, 2, 3]), MessageFlags.Keyframe | MessageFlags.RandomAccess);
const inter = (ts: number) => new SharedMessage(9, ts, Buffer.from([0x27, 1, 0, 0, 0, 4, 5]), 0);
const sh = new SharedMessage(9, 0, Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]), MessageFlags.SequenceHeader);

describe("FLV tags", () => {
  it("encodes a tag with its 32-bit timestamp and PreviousTagSize", () => {
    const tag = encodeFlvTag(9, 0x12345678, Buffer.from([0xaa, 0xbb]));
    expect(tag.toString("hex")).toBe("09" + "000002" + "345678" + "12" + "000000" + "aabb" + "0000000d");
    // Past 2^32 ms it wraps like RTMP's timestamps.
    expect(encodeFlvTag(8, 2 ** 32 + 5, Buffer.alloc(0)).subarray(4, 8).toString("hex")).toBe("00000500");
  });

  it("writes the header flags", () => {
    expect(flvHeader(true, true).toString("hex")).toBe("464c5601050000000900000000");
    expect(flvHeader(false, true)[4]).toBe(1);
    expect(flvHeader(true, false)[4]).toBe(4);
  });
});

describe("HttpFlvPlayer", () => {
  it("writes each flush as one batch of tags shared with every other player", () => {
    const a = new FakeSink();
    const b = new FakeSink();
    const pa = new HttpFlvPlayer(a, { queueMs: 10_000, queueBytes: 1 << 20 }, true);
    const pb = new HttpFlvPlayer(b, { queueMs: 10_000, queueBytes: 1 << 20 }, true);
    const msgs = [sh, key(0), inter(40), inter(80)];
    for (const m of msgs) {
      pa.enqueue(m);
      pb.enqueue(m);
    }
    pa.flush();
    pb.flush();
    expect(a.batches).toHaveLength(1);
    expect(a.batches[0]).toHaveLength(4);
    // The same Buffer objects: encoded once.
    for (let i = 0; i < 4; i++) expect(a.batches[0]![i]).toBe(b.batches[0]![i]);
    expect(pa.sentMessages).toBe(4);
    expect(pa.bytesOut).toBe(a.batches[0]!.reduce((n, t) => n + t.length, 0));
  });

  it("writes nothing while the peer is blocked, then drops to the next keyframe keeping the sequence header", () => {
    const sink = new FakeSink();
    const p = new HttpFlvPlayer(sink, { queueMs: 1000, queueBytes: 1 << 20 }, true);
    p.enqueue(sh);
    sink.blocked = true;
    for (let t = 0; t <= 2000; t += 40) p.enqueue(t % 1000 === 0 ? key(t) : inter(t));
    p.flush();
    expect(sink.batches).toHaveLength(0);
    expect(p.drops).toBeGreaterThan(0);
    sink.blocked = false;
    p.flush();
    const tags = sink.batches[0]!;
    expect(tags[0]).toBe(sh.flvTag());
    // After the sequence header the first media tag is a keyframe.
    expect(tags[1]![11]! >> 4).toBe(1);
  });

  it("waits for a keyframe after a republish", () => {
    const sink = new FakeSink();
    const p = new HttpFlvPlayer(sink, { queueMs: 10_000, queueBytes: 1 << 20 }, true);
    p.onPublish();
    p.enqueue(inter(0));
    p.enqueue(key(40));
    p.flush();
    expect(sink.batches[0]).toHaveLength(1);
    expect(p.droppedMessages).toBe(1);
  });
});
