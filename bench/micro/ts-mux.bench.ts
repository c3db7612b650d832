/**
 * TS mux: MB/s of FLV frame payloads (a synthetic 2.5 Mbps H.264 + AAC publish, 2 s, from
 * bench/micro/stream.ts's sizes) turned into 188-byte MPEG-TS packets, one call per frame,
 * with PAT/PMT at each keyframe as the HLS segmenter writes them.
 *
 * Ours: TsMuxer (native). Theirs: none yet. node-media-server has no TS muxer of its own
 * (it runs ffmpeg for HLS); the comparison with ffmpeg's mpegts muxer on the same file is
 * to come (issue 7's bench), so this row has no peer.
 */
import { TsMuxer } from "../../src/native/index.js";
import { addBatched, check, mbpsRow, measured, newBench, type MicroRow } from "./common.js";

const NAME = "TS mux: 2.5 Mbps H.264 + AAC, 2 s, one call per frame";

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

interface Frame {
  video: boolean;
  ts: number;
  body: Buffer;
  key: boolean;
}

function frames(): { headers: Buffer[]; list: Frame[]; bytes: number } {
  const sps = Buffer.from("6742c01eda0280bfe5c0440000030004000003032c3c58b8", "hex");
  const pps = Buffer.from("68ce3c80", "hex");
  const avcc = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, sps.length]), sps, Buffer.from([1, 0, pps.length]), pps]);
  const asc = Buffer.from([0xaf, 0, 0x12, 0x10]);
  const list: Frame[] = [];
  let bytes = 0;
  // 25 fps video, 2.5 Mbps: keyframe 40 KB every 50 frames, others ~11 KB; AAC ~370 B at 43 fps.
  for (let i = 0; i < 50; i++) {
    const key = i % 50 === 0;
    const size = key ? 40_000 : 11_000;
    const nalu = Buffer.alloc(size, 0x5a);
    nalu[0] = key ? 0x65 : 0x41;
    const body = Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), u32(size), nalu]);
    list.push({ video: true, ts: i * 40, body, key });
  }
  for (let i = 0; i < 86; i++) list.push({ video: false, ts: Math.round(i * 23.22), body: Buffer.concat([Buffer.from([0xaf, 1]), Buffer.alloc(370, 0x21)]), key: false });
  list.sort((a, b) => a.ts - b.ts);
  for (const f of list) bytes += f.body.length;
  return { headers: [avcc, asc], list, bytes };
}

export async function tsMuxBench(): Promise<MicroRow[]> {
  const { headers, list, bytes } = frames();
  const m = new TsMuxer();
  m.muxVideo(0, headers[0]!);
  m.muxAudio(0, headers[1]!);
  let sink = 0;
  let base = 0;
  const bench = newBench("ts mux");
  addBatched(bench, `${NAME} [ours]`, 1, () => {
    for (const f of list) {
      if (f.video) {
        if (f.key) sink += m.startSegment().length;
        sink += m.muxVideo(base + f.ts, f.body).length;
      } else {
        sink += m.muxAudio(base + f.ts, f.body).length;
      }
    }
    base += 2000;
  });
  await bench.run();
  check(sink > bytes, "TS mux produced packets");
  return [mbpsRow(NAME, bytes, measured(bench, `${NAME} [ours]`), null, "none yet", "ffmpeg's mpegts muxer comparison to come")];
}
