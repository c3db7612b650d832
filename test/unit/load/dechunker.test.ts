/**
 * The load generator's dechunker (`sluice_load --dechunk FILE`, the same ChunkParser its
 * players use, fed in 7-byte pieces) against the server's ChunkDecoder on the byte tables
 * of test/fixtures/chunk-tables.ts (the ones test/unit/protocol/rtmp/chunk-codec.test.ts
 * checks the server's decoder on), plus encoder-made streams.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { createChunkDecoder, encodeChunks } from "../../../src/native/index.js";
import {
  caseTitle,
  chunkCases,
  DEFAULT_MAX_CHUNK_STREAMS,
  DEFAULT_MAX_MESSAGE_SIZE,
  hex,
  withoutPayload,
} from "../../fixtures/chunk-tables.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const EXE = path.join(ROOT, "build", "Release", "sluice_load");

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
interface Limits {
  maxMessageSize?: number;
  maxChunkStreams?: number;
}

let dir: string;
let fileNo = 0;

/** What `sluice_load --dechunk` makes of `data`. */
async function loadDechunk(data: Buffer, limits: Limits = {}): Promise<Outcome> {
  const file = path.join(dir, `wire-${fileNo++}.bin`);
  await writeFile(file, data);
  const args = [
    "--dechunk",
    file,
    "--max-message-size",
    String(limits.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE),
    "--max-chunk-streams",
    String(limits.maxChunkStreams ?? DEFAULT_MAX_CHUNK_STREAMS),
  ];
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
function addonDechunk(data: Buffer, limits: Limits = {}): Outcome {
  const d = createChunkDecoder({
    maxMessageSize: limits.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxChunkStreams: limits.maxChunkStreams ?? DEFAULT_MAX_CHUNK_STREAMS,
  });
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

async function same(data: Buffer, limits?: Limits): Promise<Outcome> {
  const ours = await loadDechunk(data, limits);
  expect(ours).toEqual(addonDechunk(data, limits));
  return ours;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "sluice-load-dechunk-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sluice_load --dechunk, beside the server's ChunkDecoder", () => {
  // The byte tables shared with test/unit/protocol/rtmp/chunk-codec.test.ts: the same
  // messages (payloads aside: --dechunk reports lengths) or the same code after the same messages.
  for (const c of chunkCases) {
    it(caseTitle(c), async () => {
      const r = await same(c.wire(), c);
      const want = c.expect;
      if ("error" in want) {
        expect(r).toEqual({ messages: (want.messagesBefore ?? []).map(withoutPayload), error: want.error });
      } else {
        expect(r).toEqual({ messages: want.messages.map(withoutPayload) });
      }
    });
  }

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
