import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createChunkDecoder, encodeChunks, type RawMessage } from "../../../../src/native/index.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const decoder = (maxMessageSize = 1 << 20) => createChunkDecoder({ maxMessageSize, maxChunkStreams: 64 });

function feedInPieces(data: Buffer, cuts: number[], maxMessageSize = 1 << 20): RawMessage[] {
  const d = decoder(maxMessageSize);
  const out: RawMessage[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < data.length)].sort((a, b) => a - b).concat(data.length)) {
    out.push(...d.push(data.subarray(prev, c)));
    prev = c;
  }
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe("ChunkDecoder", () => {
  it("decodes a fmt-0 single-chunk message (RTMP spec 5.3.1.2.1)", () => {
    // csid 3, ts 0x000102, length 4, type 20, stream id 1 (little-endian), payload
    const msgs = decoder().push(hex("03 000102 000004 14 01000000 deadbeef"));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ csid: 3, type: 20, streamId: 1, timestamp: 0x102 });
    expect(msgs[0]!.payload.toString("hex")).toBe("deadbeef");
  });

  it("joins a message split at the default chunk size of 128 with fmt-3 continuations", () => {
    const payload = Buffer.alloc(300, 7);
    const wire = Buffer.concat([
      hex("04 000010 00012c 09 01000000"),
      payload.subarray(0, 128),
      hex("c4"),
      payload.subarray(128, 256),
      hex("c4"),
      payload.subarray(256),
    ]);
    const msgs = decoder().push(wire);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.payload.equals(payload)).toBe(true);
    expect(msgs[0]!.timestamp).toBe(16);
  });

  it("reads 2-byte and 3-byte chunk stream ids (5.3.1.1)", () => {
    const two = decoder().push(hex("00 00 000000 000001 08 00000000 aa")); // csid 64
    expect(two[0]!.csid).toBe(64);
    const two2 = decoder().push(hex("00 ff 000000 000001 08 00000000 aa")); // csid 319
    expect(two2[0]!.csid).toBe(319);
    const three = decoder().push(hex("01 10 27 000000 000001 08 00000000 aa")); // 64 + 0x10 + 0x27*256
    expect(three[0]!.csid).toBe(64 + 0x10 + 0x27 * 256);
  });

  it("inherits fields for fmt 1, 2 and 3 and adds timestamp deltas", () => {
    const msgs = decoder().push(
      hex(
        "06 000064 000002 09 01000000 1111" + // fmt0 ts=100
          "46 000028 000003 08 222222" + // fmt1 delta 40, len 3, type 8
          "86 000014 333333" + // fmt2 delta 20, same len/type
          "c6 444444", // fmt3 new message: same delta 20
      ),
    );
    expect(msgs.map((m) => [m.type, m.timestamp, m.payload.toString("hex")])).toEqual([
      [9, 100, "1111"],
      [8, 140, "222222"],
      [8, 160, "333333"],
      [8, 180, "444444"],
    ]);
    expect(msgs.every((m) => m.streamId === 1)).toBe(true);
  });

  it("repeats the absolute timestamp as delta for a fmt-3 message right after fmt 0 (5.3.1.2.4)", () => {
    const msgs = decoder().push(hex("05 000028 000001 08 01000000 aa c5 bb"));
    expect(msgs.map((m) => m.timestamp)).toEqual([40, 80]);
  });

  it("reads extended timestamps, also when repeated on fmt-3 continuation chunks", () => {
    const payload = Buffer.alloc(200, 1);
    const ts = "01020304";
    const withRepeat = Buffer.concat([
      hex(`05 ffffff 0000c8 09 01000000 ${ts}`),
      payload.subarray(0, 128),
      hex(`c5 ${ts}`),
      payload.subarray(128),
    ]);
    const a = decoder().push(withRepeat);
    expect(a[0]!.timestamp).toBe(0x01020304);
    expect(a[0]!.payload.equals(payload)).toBe(true);

    const withoutRepeat = Buffer.concat([
      hex(`05 ffffff 0000c8 09 01000000 ${ts}`),
      payload.subarray(0, 128),
      hex("c5"),
      payload.subarray(128),
    ]);
    const b = decoder().push(withoutRepeat);
    expect(b[0]!.timestamp).toBe(0x01020304);
    expect(b[0]!.payload.equals(payload)).toBe(true);
  });

  it("assembles messages interleaved on several chunk streams", () => {
    const a = Buffer.alloc(200, 0xa);
    const v = Buffer.alloc(150, 0xb);
    const wire = Buffer.concat([
      hex("06 000000 000096 09 01000000"),
      v.subarray(0, 128),
      hex("04 000000 0000c8 08 01000000"),
      a.subarray(0, 128),
      hex("c6"),
      v.subarray(128),
      hex("c4"),
      a.subarray(128),
    ]);
    const msgs = decoder().push(wire);
    expect(msgs.map((m) => [m.csid, m.type, m.payload.length])).toEqual([
      [6, 9, 150],
      [4, 8, 200],
    ]);
  });

  it("applies Set Chunk Size before the next chunk and reports it", () => {
    const payload = Buffer.alloc(1000, 3);
    const wire = Buffer.concat([
      hex("02 000000 000004 01 00000000 00001000"), // chunk size 4096
      hex("04 000000 0003e8 09 01000000"),
      payload,
    ]);
    const d = decoder();
    const msgs = d.push(wire);
    expect(msgs.map((m) => m.type)).toEqual([1, 9]);
    expect(d.chunkSize).toBe(4096);
    expect(msgs[1]!.payload.equals(payload)).toBe(true);
  });

  it("rejects Set Chunk Size 0 and sizes with the top bit set", () => {
    expect(codeOf(() => decoder().push(hex("02 000000 000004 01 00000000 00000000")))).toBe("ERR_RTMP_CHUNK_SIZE");
    expect(codeOf(() => decoder().push(hex("02 000000 000004 01 00000000 80000000")))).toBe("ERR_RTMP_CHUNK_SIZE");
  });

  it("rejects a message longer than the cap as soon as its header arrives", () => {
    expect(codeOf(() => decoder(1000).push(hex("04 000000 0003e9 09 01000000")))).toBe("ERR_RTMP_MESSAGE_TOO_LARGE");
    expect(codeOf(() => decoder(1000).push(hex("04 000000 0003e8 09 01000000")))).toBeUndefined();
  });

  it("rejects fmt 2 or 3 on a chunk stream with no previous header", () => {
    expect(codeOf(() => decoder().push(hex("87 000000 aa")))).toBe("ERR_RTMP_CHUNK_STREAM");
    expect(codeOf(() => decoder().push(hex("c7 aa")))).toBe("ERR_RTMP_CHUNK_STREAM");
  });

  it("limits the number of chunk streams in use", () => {
    const d = createChunkDecoder({ maxMessageSize: 1 << 20, maxChunkStreams: 4 });
    const header = (csid: number) => Buffer.from([csid, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0xaa]);
    for (let c = 3; c < 7; c++) d.push(header(c));
    expect(codeOf(() => d.push(header(7)))).toBe("ERR_RTMP_CHUNK_LIMIT");
  });

  it("drops a partial message on Abort (5.4.2)", () => {
    const wire = Buffer.concat([
      hex("06 000000 0000c8 09 01000000"),
      Buffer.alloc(128, 1),
      hex("02 000000 000004 02 00000000 00000006"),
      hex("06 000000 000002 09 01000000 abcd"),
    ]);
    const msgs = decoder().push(wire);
    expect(msgs.map((m) => [m.type, m.payload.length])).toEqual([
      [2, 4],
      [9, 2],
    ]);
  });

  it("delivers zero-length messages", () => {
    const msgs = decoder().push(hex("03 000000 000000 14 00000000"));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.payload.length).toBe(0);
  });
});

describe("encodeChunks", () => {
  it("writes a fmt-0 header then fmt-3 continuations (bytes by hand)", () => {
    const payload = Buffer.alloc(5, 9);
    expect(encodeChunks(4, 9, 1, 0x0a0b0c, payload, 2).toString("hex")).toBe(
      "04" + "0a0b0c" + "000005" + "09" + "01000000" + "0909" + "c4" + "0909" + "c4" + "09",
    );
  });

  it("writes the extended timestamp on every chunk at and past 0xFFFFFF", () => {
    const out = encodeChunks(6, 8, 1, 0x01000000, Buffer.alloc(3, 1), 2);
    expect(out.toString("hex")).toBe("06" + "ffffff" + "000003" + "08" + "01000000" + "01000000" + "0101" + "c6" + "01000000" + "01");
  });

  it("uses 2- and 3-byte basic headers for large chunk stream ids", () => {
    expect(encodeChunks(70, 8, 0, 0, Buffer.from([1]), 128).subarray(0, 2).toString("hex")).toBe("0006");
    expect(encodeChunks(400, 8, 0, 0, Buffer.from([1]), 128).subarray(0, 3).toString("hex")).toBe("015001");
  });

  it("round-trips through the decoder whatever the chunk size, timestamp and split", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            csid: fc.constantFrom(3, 4, 6, 63, 64, 319, 320, 65599),
            type: fc.constantFrom(8, 9, 18, 20),
            streamId: fc.integer({ min: 0, max: 0xffffffff }),
            timestamp: fc.oneof(fc.integer({ min: 0, max: 0xfffffe }), fc.integer({ min: 0xffffff, max: 0xffffffff })),
            payload: fc.uint8Array({ minLength: 0, maxLength: 700 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 20 }),
        (messages, cuts) => {
          // Chunk size 128 is the decoder's default, so every message can use it.
          const wire = Buffer.concat(
            messages.map((m) => encodeChunks(m.csid, m.type, m.streamId, m.timestamp, Buffer.from(m.payload), 128)),
          );
          const decoded = feedInPieces(wire, cuts);
          expect(decoded.length).toBe(messages.length);
          decoded.forEach((d, i) => {
            const m = messages[i]!;
            expect([d.csid, d.type, d.streamId, d.timestamp]).toEqual([m.csid, m.type, m.streamId, m.timestamp]);
            expect(Buffer.compare(d.payload, Buffer.from(m.payload))).toBe(0);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("decodes the same messages when fed one byte at a time", () => {
    const wire = Buffer.concat([
      hex("02 000000 000004 01 00000000 00000100"),
      encodeChunks(6, 9, 1, 0xffffff, Buffer.alloc(1000, 5), 256),
      encodeChunks(4, 8, 1, 0x1234, Buffer.alloc(10, 6), 256),
    ]);
    const d = decoder();
    const out: RawMessage[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...d.push(wire.subarray(i, i + 1)));
    expect(out.map((m) => [m.type, m.timestamp, m.payload.length])).toEqual([
      [1, 0, 4],
      [9, 0xffffff, 1000],
      [8, 0x1234, 10],
    ]);
  });
});

describe("ChunkDecoder on hostile input", () => {
  it("either decodes or throws a coded error for any bytes", () => {
    const codes = new Set(["ERR_RTMP_CHUNK_SIZE", "ERR_RTMP_MESSAGE_TOO_LARGE", "ERR_RTMP_CHUNK_STREAM", "ERR_RTMP_CHUNK_LIMIT"]);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 8 }), (pieces) => {
        const d = decoder(64 * 1024);
        try {
          for (const p of pieces) d.push(Buffer.from(p));
        } catch (err) {
          expect(codes.has((err as { code?: string }).code ?? "")).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
