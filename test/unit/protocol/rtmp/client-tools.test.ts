/**
 * The pieces under the client tools that work on bytes and numbers alone: the FLV file
 * parser, reader and writer (src/format/flv-file.ts), and sluice-publish's timeline and
 * pacer (src/cli/publish-timeline.ts).
 */
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlvFileReader, FlvFileWriter, FlvParser, type FlvTag } from "../../../../src/format/flv-file.js";
import { encodeFlvTag, flvHeader } from "../../../../src/format/flv.js";
import { encodeAmf0, Amf0EcmaArray } from "../../../../src/protocol/rtmp/amf0.js";
import { PublishTimeline, RealTimePacer } from "../../../../src/cli/publish-timeline.js";
import { exitCodeFor, ExitCode } from "../../../../src/cli/exit-code.js";
import { SluiceError } from "../../../../src/core/errors.js";

const avcHeader = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e]);
const aacHeader = Buffer.from([0xaf, 0, 0x12, 0x10]);
const key = (n: number) => Buffer.from([0x17, 1, 0, 0, 0, n]);
const inter = (n: number) => Buffer.from([0x27, 1, 0, 0, 0, n]);
const aac = (n: number) => Buffer.from([0xaf, 1, n]);
const metadata = () => encodeAmf0("onMetaData", new Amf0EcmaArray(Object.assign(Object.create(null), { duration: 2, width: 320 })));

/** A small file: metadata, both sequence headers, then video every 40 ms and audio every 23 ms. */
function sampleTags(durationMs = 200): FlvTag[] {
  const tags: FlvTag[] = [
    { type: 18, timestamp: 0, body: metadata() },
    { type: 9, timestamp: 0, body: avcHeader },
    { type: 8, timestamp: 0, body: aacHeader },
  ];
  let v = 0;
  let a = 0;
  while (v < durationMs || a < durationMs) {
    if (v <= a) {
      tags.push({ type: 9, timestamp: v, body: v === 0 ? key(v / 40) : inter(v / 40) });
      v += 40;
    } else {
      tags.push({ type: 8, timestamp: a, body: aac(a % 256) });
      a += 23;
    }
  }
  return tags;
}

function fileBytes(tags: FlvTag[]): Buffer {
  return Buffer.concat([flvHeader(true, true), ...tags.map((t) => encodeFlvTag(t.type, t.timestamp, t.body))]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "sluice-flv-file-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("FlvParser", () => {
  it("reads the same tags whatever the pieces the bytes come in", () => {
    const tags = sampleTags();
    const bytes = fileBytes(tags);
    for (const piece of [1, 7, 11, 15, 100, bytes.length]) {
      const p = new FlvParser();
      const got: FlvTag[] = [];
      for (let i = 0; i < bytes.length; i += piece) got.push(...p.push(bytes.subarray(i, i + piece)));
      got.push(...p.end());
      expect(p.header).toEqual({ version: 1, hasAudio: true, hasVideo: true });
      expect(got).toEqual(tags);
    }
  });

  it("reads 32-bit timestamps (the extension byte is the high 8 bits)", () => {
    const ts = 0x01234567;
    const p = new FlvParser();
    const got = p.push(fileBytes([{ type: 9, timestamp: ts, body: key(0) }]));
    expect(got[0]!.timestamp).toBe(ts);
  });

  it("refuses bytes that are not FLV with ERR_FLV_FORMAT", () => {
    expect(() => new FlvParser().push(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(expect.objectContaining({ code: "ERR_FLV_FORMAT" }));
    expect(() => new FlvParser().end()).toThrow(expect.objectContaining({ code: "ERR_FLV_FORMAT" }));
  });

  it("keeps a last tag missing only its PreviousTagSize, and drops a cut one", () => {
    const tags = sampleTags(80);
    const bytes = fileBytes(tags);
    const noTrailer = new FlvParser();
    const got = noTrailer.push(bytes.subarray(0, bytes.length - 4));
    expect(got.concat(noTrailer.end())).toEqual(tags);
    const cut = new FlvParser();
    const some = cut.push(bytes.subarray(0, bytes.length - 6));
    expect(cut.pendingBytes).toBeGreaterThan(0);
    expect(some.concat(cut.end())).toEqual(tags.slice(0, -1));
  });

  it("skips encrypted tags and types it does not know", () => {
    const weird = encodeFlvTag(9, 0, key(0));
    weird[0] = 0x29; // Filter bit set
    const other = encodeFlvTag(7, 0, Buffer.from([1, 2]));
    const p = new FlvParser();
    const got = p.push(Buffer.concat([flvHeader(true, true), weird, other, encodeFlvTag(8, 5, aac(1))]));
    expect(got).toEqual([{ type: 8, timestamp: 5, body: aac(1) }]);
    expect(p.skipped).toBe(2);
  });
});

describe("FlvFileReader and FlvFileWriter", () => {
  it("write a file that reads back tag for tag, and read it again for a second pass", async () => {
    const file = path.join(dir, "roundtrip.flv");
    const tags = sampleTags(2000);
    const writer = new FlvFileWriter(createWriteStream(file));
    writer.writeHeader(true, true);
    for (const t of tags) writer.writeTag(t.type, t.timestamp, t.body);
    await writer.end();
    expect((await readFile(file)).equals(fileBytes(tags))).toBe(true);
    expect(writer.bytes).toBe(fileBytes(tags).length);

    const reader = new FlvFileReader(file);
    for (let pass = 0; pass < 2; pass++) {
      const got: FlvTag[] = [];
      for await (const t of reader) got.push(t);
      expect(got).toEqual(tags);
      expect(reader.truncatedBytes).toBe(0);
    }
  });

  it("says how many bytes at the end of a cut file made no tag", async () => {
    const file = path.join(dir, "cut.flv");
    const bytes = fileBytes(sampleTags(400));
    await writeFile(file, bytes.subarray(0, bytes.length - 3 - 4));
    const reader = new FlvFileReader(file);
    let n = 0;
    for await (const _ of reader) n++;
    expect(n).toBe(sampleTags(400).length - 1);
    expect(reader.truncatedBytes).toBe(11 + aac(0).length - 3);
  });
});

describe("PublishTimeline", () => {
  const pass = (t: PublishTimeline, tags: FlvTag[]) => tags.map((x) => t.next(x)).filter((x): x is FlvTag => x !== undefined);

  it("keeps the file's timestamps on the first pass and leaves the metadata to the caller", () => {
    const t = new PublishTimeline();
    const tags = sampleTags(400).map((x) => ({ ...x, timestamp: x.timestamp + 1000 }));
    const out = pass(t, tags);
    expect(out).toEqual(tags.slice(1));
  });

  it("goes on one frame after the last tag on each loop, never back, without the sequence headers again", () => {
    const t = new PublishTimeline();
    const tags = sampleTags(400);
    const first = pass(t, tags);
    t.startLoop();
    const second = pass(t, tags);
    t.startLoop();
    const third = pass(t, tags);
    expect(t.loops).toBe(3);
    const lastFirst = Math.max(...first.map((x) => x.timestamp));
    // The frames only: no metadata, no repeated AVC/AAC sequence header.
    expect(second).toHaveLength(tags.length - 3);
    expect(second[0]!.timestamp).toBe(lastFirst + 40);
    const all = [...first, ...second, ...third];
    for (const type of [8, 9]) {
      const ts = all.filter((x) => x.type === type && x.body[1] !== 0).map((x) => x.timestamp);
      for (let i = 1; i < ts.length; i++) {
        expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
        expect(ts[i]! - ts[i - 1]!).toBeLessThanOrEqual(40 + 40);
      }
    }
  });

  it("sends a sequence header again when it changes", () => {
    const t = new PublishTimeline();
    expect(t.next({ type: 9, timestamp: 0, body: avcHeader })).toBeDefined();
    expect(t.next({ type: 9, timestamp: 40, body: avcHeader })).toBeUndefined();
    const changed = Buffer.from(avcHeader);
    changed[8] = 0x1f;
    expect(t.next({ type: 9, timestamp: 80, body: changed })).toBeDefined();
  });
});

describe("RealTimePacer", () => {
  it("makes a timestamp due at its media time since the first, against the clock since then", () => {
    let now = 5000;
    const p = new RealTimePacer(() => now);
    expect(p.dueIn(1000)).toBe(0);
    expect(p.start).toBe(1000);
    expect(p.dueIn(1040)).toBe(40);
    now += 100; // late: no waiting, and the lateness is not carried on
    expect(p.dueIn(1040)).toBe(-60);
    expect(p.dueIn(1200)).toBe(100);
    now = 5000 + 3_600_000;
    expect(p.dueIn(1000 + 3_600_000 + 40)).toBe(40);
  });
});

describe("the tools' exit codes", () => {
  it("map refusals, bad input and failures apart", () => {
    expect(exitCodeFor(new SluiceError("ERR_RTMP_COMMAND", "NetStream.Play.Rejected"))).toBe(ExitCode.Rejected);
    expect(exitCodeFor(new SluiceError("ERR_RTMP_PEER_CLOSED", "refused"))).toBe(ExitCode.Failed);
    expect(exitCodeFor(new SluiceError("ERR_RTMP_TIMEOUT", "slow"))).toBe(ExitCode.Failed);
    expect(exitCodeFor(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe(ExitCode.Usage);
    expect(exitCodeFor(Object.assign(new Error("x"), { code: "ERR_FLV_FORMAT" }))).toBe(ExitCode.Usage);
    expect(exitCodeFor(new Error("anything else"))).toBe(ExitCode.Failed);
  });
});
