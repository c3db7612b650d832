/**
 * The load generator's dechunker (`sluice_load --dechunk FILE`, the same ChunkParser its
 * players use, fed in 7-byte pieces) against the server's ChunkDecoder on the byte tables
 * of test/unit/protocol/rtmp/chunk-codec.test.ts, plus encoder-made streams.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { createChunkDecoder, encodeChunks } from "../../../src/native/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const EXE = path.join(ROOT, "build", "Release", "sluice_load");
const MAX_MESSAGE = 1 << 20;
const MAX_CHUNK_STREAMS = 64;

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

interface Row {
  csid: number;
  type: number;
  streamId: number;
  timestamp: number;
  length: number;
}
interface Outcome {
  messages: Row[];
  error?: string;
}

let dir: string;
let fileNo = 0;

/** What `sluice_load --dechunk` makes of `data`. */
async function loadDechunk(data: Buffer, maxChunkStreams = MAX_CHUNK_STREAMS): Promise<Outcome> {
  const file = path.join(dir, `wire-${fileNo++}.bin`);
  await writeFile(file, data);
  const args = ["--dechunk", file, "--max-message-size", String(MAX_MESSAGE), "--max-chunk-streams", String(maxChunkStreams)];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(EXE, args, { timeout: 20_000, maxBuffer: 64 << 20 }, (err, out, errOut) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout: out, stderr: errOut });
    });
  });
  const lines = stdout.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Row & { error?: string });
  const last = lines[lines.length - 1];
  if (last?.error !== undefined) {
    expect(code, stderr).toBe(1);
    return { messages: lines.slice(0, -1), error: last.error };
  }
  expect(code, stderr).toBe(0);
  return { messages: lines };
}

/** What the server's decoder makes of `data`, fed in the same 7-byte pieces. */
function addonDechunk(data: Buffer, maxChunkStreams = MAX_CHUNK_STREAMS): Outcome {
  const d = createChunkDecoder({ maxMessageSize: MAX_MESSAGE, maxChunkStreams });
  const messages: Row[] = [];
  try {
    for (let off = 0; off < data.length; off += 7) {
      for (const m of d.push(data.subarray(off, off + 7))) {
        messages.push({ csid: m.csid, type: m.type, streamId: m.streamId, timestamp: m.timestamp, length: m.payload.length });
      }
    }
  } catch (err) {
    return { messages, error: (err as { code?: string }).code };
  }
  return { messages };
}

async function same(data: Buffer, maxChunkStreams?: number): Promise<Outcome> {
  const ours = await loadDechunk(data, maxChunkStreams);
  expect(ours).toEqual(addonDechunk(data, maxChunkStreams));
  return ours;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "sluice-load-dechunk-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sluice_load --dechunk, beside the server's ChunkDecoder", () => {
  it("decodes a fmt-0 single-chunk message (RTMP spec 5.3.1.2.1)", async () => {
    const r = await same(hex("03 000102 000004 14 01000000 deadbeef"));
    expect(r.messages).toEqual([{ csid: 3, type: 20, streamId: 1, timestamp: 0x102, length: 4 }]);
  });

  it("joins a message split at the default chunk size of 128 with fmt-3 continuations", async () => {
    const payload = Buffer.alloc(300, 7);
    const wire = Buffer.concat([
      hex("04 000010 00012c 09 01000000"),
      payload.subarray(0, 128),
      hex("c4"),
      payload.subarray(128, 256),
      hex("c4"),
      payload.subarray(256),
    ]);
    const r = await same(wire);
    expect(r.messages).toEqual([{ csid: 4, type: 9, streamId: 1, timestamp: 16, length: 300 }]);
  });

  it("reads 2-byte and 3-byte chunk stream ids (5.3.1.1)", async () => {
    const r = await same(
      hex("00 00 000000 000001 08 00000000 aa" + "00 ff 000000 000001 08 00000000 aa" + "01 10 27 000000 000001 08 00000000 aa"),
    );
    expect(r.messages.map((m) => m.csid)).toEqual([64, 319, 64 + 0x10 + 0x27 * 256]);
  });

  it("inherits fields for fmt 1, 2 and 3 and adds timestamp deltas", async () => {
    const r = await same(
      hex(
        "06 000064 000002 09 01000000 1111" + // fmt0 ts=100
          "46 000028 000003 08 222222" + // fmt1 delta 40, len 3, type 8
          "86 000014 333333" + // fmt2 delta 20, same len/type
          "c6 444444", // fmt3 new message: same delta 20
      ),
    );
    expect(r.messages.map((m) => [m.type, m.timestamp, m.length, m.streamId])).toEqual([
      [9, 100, 2, 1],
      [8, 140, 3, 1],
      [8, 160, 3, 1],
      [8, 180, 3, 1],
    ]);
  });

  it("repeats the absolute timestamp as delta for a fmt-3 message right after fmt 0 (5.3.1.2.4)", async () => {
    const r = await same(hex("05 000028 000001 08 01000000 aa c5 bb"));
    expect(r.messages.map((m) => m.timestamp)).toEqual([40, 80]);
  });

  it("reads extended timestamps, with and without the fmt-3 repeat", async () => {
    const payload = Buffer.alloc(200, 1);
    const ts = "01020304";
    const withRepeat = Buffer.concat([
      hex(`05 ffffff 0000c8 09 01000000 ${ts}`),
      payload.subarray(0, 128),
      hex(`c5 ${ts}`),
      payload.subarray(128),
    ]);
    const withoutRepeat = Buffer.concat([
      hex(`05 ffffff 0000c8 09 01000000 ${ts}`),
      payload.subarray(0, 128),
      hex("c5"),
      payload.subarray(128),
    ]);
    for (const wire of [withRepeat, withoutRepeat]) {
      const r = await same(wire);
      expect(r.messages).toEqual([{ csid: 5, type: 9, streamId: 1, timestamp: 0x01020304, length: 200 }]);
    }
  });

  it("assembles messages interleaved on several chunk streams", async () => {
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
    const r = await same(wire);
    expect(r.messages.map((m) => [m.csid, m.type, m.length])).toEqual([
      [6, 9, 150],
      [4, 8, 200],
    ]);
  });

  it("applies Set Chunk Size before the next chunk and reports it", async () => {
    const wire = Buffer.concat([
      hex("02 000000 000004 01 00000000 00001000"), // chunk size 4096
      hex("04 000000 0003e8 09 01000000"),
      Buffer.alloc(1000, 3),
    ]);
    const r = await same(wire);
    expect(r.messages.map((m) => [m.type, m.length])).toEqual([
      [1, 4],
      [9, 1000],
    ]);
  });

  it("drops a partial message on Abort (5.4.2) and delivers zero-length messages", async () => {
    const wire = Buffer.concat([
      hex("06 000000 0000c8 09 01000000"),
      Buffer.alloc(128, 1),
      hex("02 000000 000004 02 00000000 00000006"),
      hex("06 000000 000002 09 01000000 abcd"),
      hex("03 000000 000000 14 00000000"),
    ]);
    const r = await same(wire);
    expect(r.messages.map((m) => [m.type, m.length])).toEqual([
      [2, 4],
      [9, 2],
      [20, 0],
    ]);
  });

  it("fails with the same codes on bad input, after the same messages", async () => {
    const cases: Array<[string, Buffer, number?]> = [
      ["ERR_RTMP_CHUNK_SIZE", hex("03 000000 000001 08 00000000 aa 02 000000 000004 01 00000000 00000000")],
      ["ERR_RTMP_CHUNK_SIZE", hex("02 000000 000004 01 00000000 80000000")],
      ["ERR_RTMP_MESSAGE_TOO_LARGE", hex("04 000000 100001 09 01000000")],
      ["ERR_RTMP_CHUNK_STREAM", hex("87 000000 aa")],
      ["ERR_RTMP_CHUNK_STREAM", hex("c7 aa")],
      ["ERR_RTMP_CHUNK_LIMIT", hex("03 000000 000001 08 00000000 aa 04 000000 000001 08 00000000 aa"), 1],
    ];
    for (const [code, wire, limit] of cases) {
      const r = await same(wire, limit);
      expect(r.error).toBe(code);
    }
  });

  it("decodes streams made by the server's encoder: chunk sizes, extended timestamps, interleaving", async () => {
    const parts: Buffer[] = [];
    const expected: Row[] = [];
    const add = (csid: number, type: number, streamId: number, timestamp: number, len: number, chunkSize: number) => {
      parts.push(encodeChunks(csid, type, streamId, timestamp, Buffer.alloc(len, len & 0xff), chunkSize));
      expected.push({ csid, type, streamId, timestamp, length: len });
    };
    add(4, 8, 1, 0, 10, 128);
    add(6, 9, 1, 0xfffffe, 1000, 128);
    add(6, 9, 1, 0xffffff, 1000, 128); // the first extended value
    add(6, 9, 1, 0xffffffff, 300, 128);
    parts.push(hex("02 000000 000004 01 00000000 0000ea60")); // Set Chunk Size 60000, as the server sends
    expected.push({ csid: 2, type: 1, streamId: 0, timestamp: 0, length: 4 });
    add(6, 9, 1, 40, 70000, 60000);
    add(320, 18, 7, 123456, 5, 60000);
    const r = await same(Buffer.concat(parts));
    expect(r.messages).toEqual(expected);
  });

  it("agrees with the decoder on random encoder-made streams", async () => {
    const messages = fc.sample(
      fc.record({
        csid: fc.constantFrom(3, 4, 6, 63, 64, 319, 320, 65599),
        type: fc.constantFrom(8, 9, 18, 20),
        streamId: fc.integer({ min: 0, max: 0xffffffff }),
        timestamp: fc.oneof(fc.integer({ min: 0, max: 0xfffffe }), fc.integer({ min: 0xffffff, max: 0xffffffff })),
        length: fc.integer({ min: 0, max: 700 }),
      }),
      { numRuns: 300, seed: 5 },
    );
    const wire = Buffer.concat(
      messages.map((m) => encodeChunks(m.csid, m.type, m.streamId, m.timestamp, Buffer.alloc(m.length, 0x5a), 128)),
    );
    const r = await same(wire);
    expect(r.messages).toHaveLength(messages.length);
  });
});
