import { describe, expect, it } from "vitest";
import { encodeFlvTag, flvHeader } from "../../../src/format/flv.js";
import { HttpFlvPlayer, type FlvSink } from "../../../src/outputs/http-flv/http-flv-player.js";
import { MessageFlags, SharedMessage } from "../../../src/stream/shared-message.js";

class FakeSink implements FlvSink {
  blocked = false;
  writes: Buffer[] = [];
  write(data: Buffer): void {
    this.writes.push(data);
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
  it("writes each flush as one Buffer of joined tags, shared by the players in step", () => {
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
    expect(a.writes).toHaveLength(1);
    expect(a.writes[0]).toEqual(Buffer.concat(msgs.map((m) => m.flvTag())));
    // The same Buffer object: joined once for both players.
    expect(a.writes[0]).toBe(b.writes[0]);
    expect(pa.sentMessages).toBe(4);
    expect(pa.bytesOut).toBe(a.writes[0]!.length);
    // A player whose queue differs gets its own join.
    const c = new FakeSink();
    const pc = new HttpFlvPlayer(c, { queueMs: 10_000, queueBytes: 1 << 20 }, true);
    for (const m of msgs.slice(1)) pc.enqueue(m);
    pc.flush();
    expect(c.writes[0]).toEqual(Buffer.concat(msgs.slice(1).map((m) => m.flvTag())));
  });

  it("writes nothing while the peer is blocked, then drops to the next keyframe keeping the sequence header", () => {
    const sink = new FakeSink();
    const p = new HttpFlvPlayer(sink, { queueMs: 1000, queueBytes: 1 << 20 }, true);
    p.enqueue(sh);
    sink.blocked = true;
    for (let t = 0; t <= 2000; t += 40) p.enqueue(t % 1000 === 0 ? key(t) : inter(t));
    p.flush();
    expect(sink.writes).toHaveLength(0);
    expect(p.drops).toBeGreaterThan(0);
    sink.blocked = false;
    p.flush();
    const data = sink.writes[0]!;
    const shTag = sh.flvTag();
    expect(data.subarray(0, shTag.length)).toEqual(shTag);
    // After the sequence header the first media tag is a keyframe.
    expect(data[shTag.length + 11]! >> 4).toBe(1);
  });

  it("waits for a keyframe after a republish", () => {
    const sink = new FakeSink();
    const p = new HttpFlvPlayer(sink, { queueMs: 10_000, queueBytes: 1 << 20 }, true);
    p.onPublish();
    p.enqueue(inter(0));
    p.enqueue(key(40));
    p.flush();
    expect(sink.writes[0]).toEqual(key(40).flvTag());
    expect(p.droppedMessages).toBe(1);
  });
});
