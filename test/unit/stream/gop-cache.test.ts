import { describe, it, expect } from "vitest";
import { GopCache } from "../../../src/stream/gop-cache.js";
import { MessageFlags, SharedMessage } from "../../../src/stream/shared-message.js";

const key = (ts: number) => new SharedMessage(9, ts, Buffer.from([0x17, 1, 0, 0, 0, 1]), MessageFlags.Keyframe | MessageFlags.RandomAccess);
const inter = (ts: number) => new SharedMessage(9, ts, Buffer.from([0x27, 1, 0, 0, 0, 1]), 0);
const audio = (ts: number, flags = 0) => new SharedMessage(8, ts, Buffer.from([0xaf, 1, 2]), flags);

describe("GopCache", () => {
  it("keeps the messages from the last keyframe on", () => {
    const g = new GopCache(true, 2500, 1 << 20);
    [key(0), audio(10), inter(40), key(2000), audio(2010), inter(2040)].forEach((m) => g.push(m));
    expect(g.snapshot().map((m) => m.timestamp)).toEqual([2000, 2010, 2040]);
  });

  it("caches nothing before the first keyframe", () => {
    const g = new GopCache(true, 2500, 1 << 20);
    [inter(0), audio(5), inter(40)].forEach((m) => g.push(m));
    expect(g.size).toBe(0);
  });

  it("empties itself past gop_cache_max_frames and counts it", () => {
    const g = new GopCache(true, 3, 1 << 20);
    [key(0), inter(40), inter(80), inter(120)].forEach((m) => g.push(m));
    expect(g.size).toBe(0);
    expect(g.overflows).toBe(1);
  });

  it("empties itself past its byte bound", () => {
    const g = new GopCache(true, 2500, 10);
    [key(0), inter(40)].forEach((m) => g.push(m));
    expect(g.size).toBe(0);
  });

  it("keeps a bounded window of audio for a stream with no video", () => {
    const g = new GopCache(true, 2500, 1 << 20);
    for (let i = 0; i < 500; i++) g.push(audio(i * 23, MessageFlags.RandomAccess));
    expect(g.size).toBe(115);
    expect(g.snapshot()[0]!.timestamp).toBe((500 - 115) * 23);
  });

  it("caches nothing when gop_cache is off", () => {
    const g = new GopCache(false, 2500, 1 << 20);
    [key(0), inter(40)].forEach((m) => g.push(m));
    expect(g.size).toBe(0);
  });
});
