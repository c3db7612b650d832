import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createChunkDecoder, encodeChunks, type RawMessage } from "../../../../src/native/index.js";
import {
  caseTitle,
  chunkCases,
  DEFAULT_MAX_CHUNK_STREAMS,
  DEFAULT_MAX_MESSAGE_SIZE,
  hex,
  type ChunkCase,
  type ChunkMessage,
} from "../../../fixtures/chunk-tables.js";

const decoder = (maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE) =>
  createChunkDecoder({ maxMessageSize, maxChunkStreams: DEFAULT_MAX_CHUNK_STREAMS });

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

/** What the decoder makes of a case's wire fed in `pieceSize`-byte pieces: messages until any throw. */
function decodeCase(c: ChunkCase, pieceSize: number): { messages: RawMessage[]; error?: string; chunkSize: number } {
  const d = createChunkDecoder({
    maxMessageSize: c.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxChunkStreams: c.maxChunkStreams ?? DEFAULT_MAX_CHUNK_STREAMS,
  });
  const data = c.wire();
  const messages: RawMessage[] = [];
  try {
    for (let off = 0; off < data.length; off += pieceSize) messages.push(...d.push(data.subarray(off, off + pieceSize)));
  } catch (err) {
    return { messages, error: (err as { code?: string }).code ?? String(err), chunkSize: d.chunkSize };
  }
  return { messages, chunkSize: d.chunkSize };
}

/** `got` as rows shaped like `want`: with the payload's hex only where `want` gives one. */
function rows(got: RawMessage[], want: ChunkMessage[]): ChunkMessage[] {
  return got.map((m, i) => ({
    csid: m.csid,
    type: m.type,
    streamId: m.streamId,
    timestamp: m.timestamp,
    length: m.payload.length,
    ...(want[i]?.payloadHex !== undefined ? { payloadHex: m.payload.toString("hex") } : {}),
  }));
}

describe("ChunkDecoder", () => {
  // The byte tables shared with test/unit/load/dechunker.test.ts (sluice_load --dechunk).
  for (const c of chunkCases) {
    it(`${caseTitle(c)}, fed whole`, () => {
      const got = decodeCase(c, Number.MAX_SAFE_INTEGER);
      const want = c.expect;
      if ("error" in want) {
        // The throwing push returns nothing, so only the code is seen.
        expect(got.error).toBe(want.error);
      } else {
        expect(got.error).toBeUndefined();
        expect(rows(got.messages, want.messages)).toEqual(want.messages);
        if (want.chunkSize !== undefined) expect(got.chunkSize).toBe(want.chunkSize);
      }
    });

    it(`${caseTitle(c)}, fed one byte at a time`, () => {
      const got = decodeCase(c, 1);
      const want = c.expect;
      if ("error" in want) {
        expect(got.error).toBe(want.error);
        const before = want.messagesBefore ?? [];
        expect(rows(got.messages, before)).toEqual(before);
      } else {
        expect(got.error).toBeUndefined();
        expect(rows(got.messages, want.messages)).toEqual(want.messages);
        if (want.chunkSize !== undefined) expect(got.chunkSize).toBe(want.chunkSize);
      }
    });
  }

  it("limits the number of chunk streams in use", () => {
    const d = createChunkDecoder({ maxMessageSize: 1 << 20, maxChunkStreams: 4 });
    const header = (csid: number) => Buffer.from([csid, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0xaa]);
    for (let c = 3; c < 7; c++) d.push(header(c));
    expect(codeOf(() => d.push(header(7)))).toBe("ERR_RTMP_CHUNK_LIMIT");
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
