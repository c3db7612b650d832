/**
 * Chunk encode: messages per second turned into their RTMP chunks (type-0 header, then
 * type-3 continuation headers), as a server does once per message for its players.
 *
 * Ours: encodeChunks (native), a new Buffer per call.
 *
 * Theirs: node-media-server's NodeRtmpSession#rtmpChunksCreate, the JS function its
 * publisher path calls once per audio/video message, on a session built with a fake socket
 * and its outChunkSize set; its input is the RtmpPacket it builds (fmt 0). Before timing,
 * both outputs are compared byte for byte.
 */
import { encodeChunks } from "../../src/native/index.js";
import { addBatched, check, measured, newBench, opsRow, type MicroRow } from "./common.js";
import { fakeSocket, nmsConfig, nmsSessionClass, nmsVersion, type NmsPacket } from "./nms.js";

interface Case {
  name: string;
  type: number;
  size: number;
  chunkSize: number;
  /** Calls per sample (a sample of one call would measure the timer). */
  inner: number;
}

const CASES: readonly Case[] = [
  { name: "chunk encode: 40 KB keyframe, chunk size 60000", type: 9, size: 40_000, chunkSize: 60000, inner: 50 },
  { name: "chunk encode: 40 KB keyframe, chunk size 4096", type: 9, size: 40_000, chunkSize: 4096, inner: 50 },
  { name: "chunk encode: 300 B audio, chunk size 60000", type: 8, size: 300, chunkSize: 60000, inner: 1000 },
  { name: "chunk encode: 300 B audio, chunk size 4096", type: 8, size: 300, chunkSize: 4096, inner: 1000 },
];

const CSID = 6;
const STREAM_ID = 1;
const TIMESTAMP = 123_456;

export async function chunkEncodeBench(): Promise<MicroRow[]> {
  const Session = nmsSessionClass(["rtmpChunksCreate"]);
  const peer = typeof Session === "string" ? Session : `${nmsVersion} NodeRtmpSession#rtmpChunksCreate`;
  const bench = newBench("chunk encode");
  let sink = 0;
  const notes = new Map<string, string>();

  for (const c of CASES) {
    const payload = Buffer.alloc(c.size);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 7) & 0xff;
    payload[0] = c.type === 9 ? 0x17 : 0xaf;

    addBatched(bench, `${c.name} [ours]`, c.inner, () => {
      sink += encodeChunks(CSID, c.type, STREAM_ID, TIMESTAMP, payload, c.chunkSize).length;
    });

    if (typeof Session !== "string") {
      const session = new Session(nmsConfig(c.chunkSize), fakeSocket());
      session.outChunkSize = c.chunkSize;
      const packet: NmsPacket = {
        header: { fmt: 0, cid: CSID, timestamp: TIMESTAMP, length: payload.length, type: c.type, stream_id: STREAM_ID },
        clock: 0,
        payload,
        capacity: 0,
        bytes: 0,
      };
      const same = session.rtmpChunksCreate(packet).equals(encodeChunks(CSID, c.type, STREAM_ID, TIMESTAMP, payload, c.chunkSize));
      notes.set(c.name, same ? "same bytes as ours" : "NOT the same bytes as ours");
      addBatched(bench, `${c.name} [theirs]`, c.inner, () => {
        sink += session.rtmpChunksCreate(packet).length;
      });
    }
  }

  await bench.run();
  check(sink > 0, "chunk encode produced bytes");

  return CASES.map((c) =>
    opsRow(
      c.name,
      measured(bench, `${c.name} [ours]`),
      typeof Session === "string" ? null : measured(bench, `${c.name} [theirs]`),
      peer,
      notes.get(c.name),
    ),
  );
}
