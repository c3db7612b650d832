import { describe, it, expect } from "vitest";
import { TimestampUnwrapper } from "../../../../src/protocol/rtmp/timestamp-unwrapper.js";

describe("TimestampUnwrapper", () => {
  it("passes timestamps below 2^32 through", () => {
    const u = new TimestampUnwrapper();
    expect([0, 40, 0xffffff, 0x1000000, 0xfffffff0].map((t) => u.unwrap(t))).toEqual([0, 40, 0xffffff, 0x1000000, 0xfffffff0]);
  });

  it("keeps time monotonic across the 2^32 ms wrap (49.7 days)", () => {
    const u = new TimestampUnwrapper();
    const start = 0xffffff00;
    const out: number[] = [];
    for (let t = start; t < start + 1000; t += 40) out.push(u.unwrap(t % 0x100000000));
    for (let i = 1; i < out.length; i++) expect(out[i]! - out[i - 1]!).toBe(40);
    expect(out.at(-1)).toBeGreaterThan(0x100000000);
  });

  it("places a late pre-wrap message before the wrap, not 49 days ahead", () => {
    const u = new TimestampUnwrapper();
    u.unwrap(0xfffffff0);
    expect(u.unwrap(0x10)).toBe(0x100000010);
    expect(u.unwrap(0xfffffffa)).toBe(0xfffffffa);
    expect(u.unwrap(0x20)).toBe(0x100000020);
  });
});
