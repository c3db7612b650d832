import { describe, it, expect } from "vitest";
import { splitAggregate } from "../../../../src/protocol/rtmp/aggregate.js";

function sub(type: number, ts: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(11);
  h[0] = type;
  h.writeUIntBE(payload.length, 1, 3);
  h.writeUIntBE(ts & 0xffffff, 4, 3);
  h[7] = (ts >>> 24) & 0xff;
  const back = Buffer.alloc(4);
  back.writeUInt32BE(11 + payload.length);
  return Buffer.concat([h, payload, back]);
}

describe("splitAggregate (RTMP spec 7.1.6)", () => {
  it("splits sub-messages and rebases their timestamps on the aggregate's", () => {
    const payload = Buffer.concat([sub(9, 5000, Buffer.from([0x17, 1])), sub(8, 5023, Buffer.from([0xaf, 1, 2])), sub(9, 5040, Buffer.from([0x27, 1]))]);
    const out = splitAggregate({ csid: 6, type: 22, streamId: 1, timestamp: 100, payload });
    expect(out.map((m) => [m.type, m.timestamp, m.payload.length])).toEqual([
      [9, 100, 2],
      [8, 123, 3],
      [9, 140, 2],
    ]);
  });

  it("drops a truncated tail instead of reading past the end", () => {
    const whole = sub(9, 0, Buffer.alloc(10));
    const payload = Buffer.concat([whole, whole.subarray(0, 15)]);
    expect(splitAggregate({ csid: 6, type: 22, streamId: 1, timestamp: 0, payload })).toHaveLength(1);
  });
});
