/**
 * Chunk decode, publisher side: MB/s of RTMP chunk bytes turned back into whole messages.
 *
 * Input: 2 s of a synthetic 2.5 Mbps H.264 + AAC publish (bench/micro/stream.ts), chunked by
 * our encoder at 4096 or 128 bytes, fed in 64 KiB pieces (one socket read under load) or in
 * 1400-byte pieces (one TCP segment each). One task call feeds the whole stream, piece by
 * piece, to a decoder that lives across calls (the stream restarts on a message boundary).
 *
 * Ours: ChunkDecoder.push (native); every message comes back with its own payload Buffer.
 *
 * Theirs: node-media-server's NodeRtmpSession#onSocketData -> rtmpChunkRead, its JS chunk
 * parser, on a session built with a fake socket and taken through the handshake (ffmpeg's
 * C0C1, then a C2) so the bytes go to the parser. What it does per read is measured as is:
 * header parsing, copying payloads into the chunk stream's reused buffer, the Set Chunk Size
 * handling (rtmpControlHandler) and its per-read ack/bitrate bookkeeping. Its rtmpHandler is
 * replaced, on that one instance, by a counter that still calls rtmpControlHandler for
 * protocol control messages as the original does: the audio/video/invoke/data handlers
 * behind it are the server's work (codec parsing, fan-out to players), not parsing.
 *
 * The two do not hand out the same thing: their payload stays in a buffer per chunk stream
 * that the next message on that chunk stream overwrites, ours is a Buffer the caller owns
 * (a GOP cache can keep it). So one more row runs their parser with a handler that copies
 * each payload out (Buffer.from), which is what keeping a message costs in their design.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createChunkDecoder, type ChunkDecoder } from "../../src/native/index.js";
import { check, mbpsRow, measured, newBench, repoRoot, type MicroRow } from "./common.js";
import { fakeSocket, nmsConfig, nmsSessionClass, nmsVersion, type NmsSession, type NmsSessionClass } from "./nms.js";
import { pieces, publisherBytes, publisherMessages } from "./stream.js";

interface Case {
  name: string;
  chunkSize: number;
  readSize: number;
  /** Their handler copies each payload out (see above). */
  copyOut: boolean;
}

const CASES: readonly Case[] = [
  { name: "chunk decode: 2.5 Mbps publish, chunk size 4096, 64 KiB reads", chunkSize: 4096, readSize: 65536, copyOut: false },
  { name: "chunk decode: 2.5 Mbps publish, chunk size 128, 64 KiB reads", chunkSize: 128, readSize: 65536, copyOut: false },
  { name: "chunk decode: 2.5 Mbps publish, chunk size 4096, 1400-byte reads", chunkSize: 4096, readSize: 1400, copyOut: false },
  {
    name: "chunk decode: 2.5 Mbps publish, chunk size 4096, 64 KiB reads, theirs copying each payload out",
    chunkSize: 4096,
    readSize: 65536,
    copyOut: true,
  },
];

const PEER_METHODS = ["onSocketData", "rtmpChunkRead", "rtmpHandler", "rtmpControlHandler"] as const;

/** A node-media-server session past the handshake, whose message handler only counts. */
function nmsParser(
  Session: NmsSessionClass,
  copyOut: boolean,
): { session: NmsSession; counts: { messages: number; bytes: number } } {
  const session = new Session(nmsConfig(4096), fakeSocket());
  const c0c1 = readFileSync(path.join(repoRoot(), "test", "fixtures", "ffmpeg-c0c1.bin"));
  session.onSocketData(c0c1);
  session.onSocketData(Buffer.alloc(1536)); // C2
  // As onConnect sets it; rtmpChunkRead updates it on every read.
  session.bitrateCache = { intervalMs: 1000, last_update: Date.now(), bytes: 0 };
  const counts = { messages: 0, bytes: 0 };
  session.rtmpHandler = function (this: NmsSession): void {
    const type = this.parserPacket.header.type;
    // The original's protocol control branch (types 1, 2, 3, 5, 6).
    if (type === 1 || type === 2 || type === 3 || type === 5 || type === 6) this.rtmpControlHandler();
    counts.messages++;
    const length = this.parserPacket.header.length;
    if (copyOut && this.parserPacket.payload) counts.bytes += Buffer.from(this.parserPacket.payload.subarray(0, length)).length;
    else counts.bytes += length;
  };
  return { session, counts };
}

export async function chunkDecodeBench(): Promise<MicroRow[]> {
  const Session = nmsSessionClass(PEER_METHODS);
  const peer = `${nmsVersion} NodeRtmpSession#onSocketData (rtmpChunkRead)`;
  const bench = newBench("chunk decode");
  const prepared = CASES.map((c) => {
    const messages = publisherMessages(c.chunkSize);
    const payloadBytes = messages.reduce((n, m) => n + m.payload.length, 0);
    const bytes = publisherBytes(messages, c.chunkSize);
    const reads = pieces(bytes, c.readSize);

    const decoder: ChunkDecoder = createChunkDecoder({ maxMessageSize: 8 * 1024 * 1024, maxChunkStreams: 64 });
    const ours = { messages: 0, bytes: 0 };
    const oursName = `${c.name} [ours]`;
    bench.add(
      oursName,
      () => {
        for (const r of reads) {
          for (const m of decoder.push(r)) {
            ours.messages++;
            ours.bytes += m.payload.length;
          }
        }
      },
      { async: false },
    );

    let theirs: { messages: number; bytes: number } | null = null;
    const theirsName = `${c.name} [theirs]`;
    if (typeof Session !== "string") {
      const p = nmsParser(Session, c.copyOut);
      theirs = p.counts;
      const session = p.session;
      bench.add(
        theirsName,
        () => {
          for (const r of reads) session.onSocketData(r);
        },
        { async: false },
      );
    }
    return { c, messages: messages.length, payloadBytes, wireBytes: bytes.length, ours, theirs, oursName, theirsName };
  });

  await bench.run();

  return prepared.map((p) => {
    // Both sides must have produced every message of every pass, with every payload byte.
    check(p.ours.messages > 0 && p.ours.messages % p.messages === 0, `${p.oursName}: message count`);
    check(p.ours.bytes === (p.ours.messages / p.messages) * p.payloadBytes, `${p.oursName}: payload bytes`);
    if (p.theirs) {
      check(p.theirs.messages > 0 && p.theirs.messages % p.messages === 0, `${p.theirsName}: message count`);
      check(p.theirs.bytes === (p.theirs.messages / p.messages) * p.payloadBytes, `${p.theirsName}: payload bytes`);
    }
    const theirs = p.theirs ? measured(bench, p.theirsName) : null;
    return mbpsRow(
      p.c.name,
      p.wireBytes,
      measured(bench, p.oursName),
      theirs,
      typeof Session === "string" ? Session : peer,
      `${(p.wireBytes / 1e6).toFixed(2)} MB of chunks, ${p.messages} messages per pass; ours: one Buffer per read, each payload a view of it; ` +
        (p.c.copyOut
          ? "theirs: its handler copies each payload out of the reused buffer (Buffer.from)"
          : "theirs: the payload left in a per-chunk-stream buffer the next message overwrites"),
    );
  });
}
