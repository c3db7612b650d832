import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HlsConfig } from "../../../src/conf/config.js";
import { HlsStore } from "../../../src/outputs/hls/hls-store.js";
import { HlsStream } from "../../../src/outputs/hls/hls-stream.js";
import { Source } from "../../../src/stream/source.js";
import { testMedia } from "../../support/fixtures.js";
import { parseFlv, type FlvTag } from "../../support/flv.js";

const run = promisify(execFile);

const BASE: HlsConfig = {
  enabled: true,
  fragment: 2,
  tdRatio: 1.5,
  aofRatio: 2,
  window: 60,
  path: "/nonexistent",
  m3u8File: "[app]/[stream].m3u8",
  tsFile: "[app]/[stream]-[seq].ts",
  entryPrefix: "",
  acodec: "aac",
  vcodec: "h264",
  cleanup: true,
  dispose: 0,
  waitKeyframe: true,
  storage: "memory",
  onError: "continue",
};

interface Frame {
  type: number;
  timestamp: number;
  payload: Buffer;
  tag: FlvTag;
}

async function framesOf(kind: "h264-aac" | "aac-only" | "h264-bframes"): Promise<Frame[]> {
  const buf = await readFile(await testMedia(kind));
  const flv = parseFlv(buf);
  return flv.tags
    .filter((t) => t.typeId === 8 || t.typeId === 9)
    .map((t) => ({ type: t.typeId, timestamp: t.timestamp, payload: buf.subarray(t.offset + 11, t.offset + 11 + t.size), tag: t }));
}

/** A Source with the HLS stream attached, as HlsService does it. */
function setup(config: Partial<HlsConfig>, store = new HlsStore(), name = "s") {
  const cfg = { ...BASE, ...config };
  const source = new Source("__defaultVhost__", "live", name, { gopCache: true, gopCacheMaxFrames: 2500, timeJitter: "off", mwLatency: 0 });
  const hls = new HlsStream({ vhost: "__defaultVhost__", app: "live", stream: name }, cfg, store);
  const publisher = { id: 1 };
  const publish = (): void => {
    source.publish(publisher);
    hls.begin(cfg);
    source.addConsumer(hls);
  };
  const unpublish = (): void => {
    source.unpublish(publisher);
    source.removeConsumer(hls);
  };
  const feed = (frames: Frame[], offset = 0): void => {
    for (const f of frames) source.onMessage(f.type, f.timestamp + offset, f.payload);
  };
  return { source, hls, store, publish, unpublish, feed };
}

function playlistOf(store: HlsStore, url = "/live/s.m3u8"): string {
  const e = store.get(url);
  if (!e || e.kind !== "memory") throw new Error(`no playlist at ${url}`);
  return e.data.toString();
}

function extinfs(m3u8: string): number[] {
  return [...m3u8.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
}

function uris(m3u8: string): string[] {
  return m3u8.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "sluice-hls-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("HlsStream", () => {
  it("cuts at keyframes every hls_fragment and lists every segment with its duration", async () => {
    const { publish, unpublish, feed, store } = setup({});
    publish();
    feed(await framesOf("h264-aac"));
    unpublish();
    const m3u8 = playlistOf(store);
    expect(m3u8.startsWith("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:3\n")).toBe(true);
    expect(uris(m3u8)).toEqual(["s-0.ts", "s-1.ts", "s-2.ts", "s-3.ts", "s-4.ts"]);
    const d = extinfs(m3u8);
    // 10 s at a 2 s GOP: five 2 s segments (the last one ends with the stream).
    for (const x of d) expect(x).toBeGreaterThanOrEqual(1.9);
    for (const x of d) expect(x).toBeLessThanOrEqual(2.1);
    expect(m3u8.match(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g)).toHaveLength(5);
    expect(m3u8).not.toContain("#EXT-X-DISCONTINUITY");
    expect(m3u8).not.toContain("#EXT-X-ENDLIST");
    for (const u of uris(m3u8)) {
      const seg = store.get(`/live/${u}`);
      expect(seg?.kind).toBe("memory");
      const data = (seg as { data: Buffer }).data;
      expect(data.length % 188).toBe(0);
      // Each segment starts with PAT then PMT.
      expect(data[0]).toBe(0x47);
      expect(((data[1]! & 0x1f) << 8) | data[2]!).toBe(0);
      expect(((data[189]! & 0x1f) << 8) | data[190]!).toBe(0x1001);
    }
  });

  it("writes segments ffprobe reads with continuous timestamps", async () => {
    const { publish, unpublish, feed, store } = setup({});
    publish();
    const frames = await framesOf("h264-bframes");
    feed(frames);
    unpublish();
    const all = Buffer.concat(uris(playlistOf(store)).map((u) => (store.get(`/live/${u}`) as { data: Buffer }).data));
    const file = path.join(tmp, "all.ts");
    await writeFile(file, all);
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "packet=codec_type,dts_time", "-of", "csv=p=0", file]);
    const rows = stdout.trim().split("\n").map((l) => l.split(","));
    const video = rows.filter((r) => r[0] === "video").map((r) => Number(r[1]));
    const audio = rows.filter((r) => r[0] === "audio");
    // Every coded frame (not the sequence header, not ffmpeg's end-of-sequence tag).
    expect(video.length).toBe(frames.filter((f) => f.type === 9 && f.tag.avcPacketType === 1).length);
    expect(audio.length).toBeGreaterThan(400);
    for (let i = 1; i < video.length; i++) {
      const step = video[i]! - video[i - 1]!;
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThan(0.1);
    }
  });

  it("slides the window, and drops a segment once it has been out of the playlist for the playlist's duration", async () => {
    const { publish, unpublish, feed, store } = setup({ window: 4 });
    publish();
    feed(await framesOf("h264-aac"));
    unpublish();
    const m3u8 = playlistOf(store);
    expect(uris(m3u8)).toEqual(["s-3.ts", "s-4.ts"]);
    expect(m3u8).toContain("#EXT-X-MEDIA-SEQUENCE:3\n");
    // Just cut: still fetchable for players that read the older playlist.
    expect(store.get("/live/s-2.ts")).toBeDefined();
  });

  it("marks a returning publisher's first segment with EXT-X-DISCONTINUITY and counts it when it leaves", async () => {
    const { publish, unpublish, feed, store } = setup({ window: 12 });
    const frames = await framesOf("h264-aac");
    publish();
    feed(frames);
    unpublish();
    publish();
    feed(frames, 60_000);
    const mid = playlistOf(store);
    expect(mid).toContain("#EXT-X-DISCONTINUITY\n");
    // The sequence numbers go on from the first publish.
    expect(uris(mid).at(-1)).toBe("s-8.ts");
    expect(uris(mid)).toContain("s-5.ts");
    unpublish();
    publish();
    feed(frames, 120_000);
    unpublish();
    const end = playlistOf(store);
    // The first discontinuity left the window; the second is listed.
    expect(end).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:1\n");
    expect(end.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
  });

  it("starts a new segment after a discontinuity when the codec parameters change mid-publish", async () => {
    const { publish, feed, store, source } = setup({});
    const frames = await framesOf("h264-aac");
    publish();
    feed(frames.slice(0, 100));
    const sh = frames.find((f) => f.type === 9 && f.tag.isSequenceHeader)!;
    // Same SPS with another profile-compatibility byte: other parameters for the decoder.
    const changed = Buffer.from(sh.payload);
    changed[7] = changed[7]! ^ 0x01;
    source.onMessage(9, 4000, changed);
    feed(frames.filter((f) => !f.tag.isSequenceHeader).slice(100), 0);
    const m3u8 = playlistOf(store);
    expect(m3u8).toContain("#EXT-X-DISCONTINUITY\n");
  });

  it("cuts a long GOP at hls_fragment x hls_td_ratio", async () => {
    const { publish, unpublish, feed, store } = setup({ fragment: 1 });
    // Only the first keyframe stays a keyframe: a 10 s GOP.
    const frames = (await framesOf("h264-aac")).map((f, i, all) => {
      if (f.type !== 9 || !f.tag.keyframe || f.tag.isSequenceHeader) return f;
      const first = all.findIndex((g) => g.type === 9 && g.tag.keyframe && !g.tag.isSequenceHeader);
      if (i === first) return f;
      const p = Buffer.from(f.payload);
      p[0] = (2 << 4) | (p[0]! & 0x0f);
      return { ...f, payload: p };
    });
    publish();
    feed(frames);
    unpublish();
    const d = extinfs(playlistOf(store));
    expect(d.length).toBeGreaterThanOrEqual(6);
    for (const x of d.slice(0, -1)) expect(x).toBeCloseTo(1.5, 1);
  });

  it("cuts a segment at any frame with hls_wait_keyframe off", async () => {
    const { publish, unpublish, feed, store } = setup({ fragment: 0.5, waitKeyframe: false, tdRatio: 10 });
    publish();
    feed(await framesOf("h264-aac"));
    unpublish();
    const d = extinfs(playlistOf(store));
    expect(d.length).toBeGreaterThanOrEqual(18);
  });

  it("makes audio-only HLS from an audio-only stream, cut at hls_fragment x hls_aof_ratio", async () => {
    const { publish, unpublish, feed, store } = setup({ fragment: 1, aofRatio: 2 });
    publish();
    feed(await framesOf("aac-only"));
    unpublish();
    const m3u8 = playlistOf(store);
    const d = extinfs(m3u8);
    expect(d.length).toBe(5);
    for (const x of d.slice(0, -1)) expect(x).toBeCloseTo(2, 1);
    const seg = (store.get(`/live/${uris(m3u8)[0]}`) as { data: Buffer }).data;
    const file = path.join(tmp, "audio.ts");
    await writeFile(file, seg);
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", file]);
    expect(new Set(stdout.split("\n").filter((l) => l !== ""))).toEqual(new Set(["audio"]));
  });

  it("drops video with hls_vcodec vn and audio with hls_acodec an", async () => {
    const frames = await framesOf("h264-aac");
    for (const [cfg, want] of [
      [{ vcodec: "vn" }, "audio"],
      [{ acodec: "an" }, "video"],
    ] as const) {
      const { publish, unpublish, feed, store } = setup(cfg);
      publish();
      feed(frames);
      unpublish();
      const m3u8 = playlistOf(store);
      const seg = (store.get(`/live/${uris(m3u8)[1]}`) as { data: Buffer }).data;
      const file = path.join(tmp, `only-${want}.ts`);
      await writeFile(file, seg);
      const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", file]);
      expect(new Set(stdout.split("\n").filter((l) => l !== ""))).toEqual(new Set([want]));
    }
  });

  it("writes files atomically to disk under hls_path, with templates and hls_entry_prefix", async () => {
    const root = path.join(tmp, "disk");
    const store = new HlsStore();
    const { publish, unpublish, feed, hls } = setup(
      { storage: "disk", path: root, m3u8File: "[app]/[stream]/index.m3u8", tsFile: "[app]/[stream]/[2006]/seg-[seq]-[duration].ts", entryPrefix: "https://cdn.example/hls" },
      store,
    );
    publish();
    feed(await framesOf("h264-aac"));
    unpublish();
    await hls.settled();
    const m3u8 = await readFile(path.join(root, "live/s/index.m3u8"), "utf8");
    const year = new Date().getFullYear();
    const list = uris(m3u8);
    expect(list).toHaveLength(5);
    for (const u of list) expect(u).toMatch(new RegExp(`^https://cdn\\.example/hls/${year}/seg-\\d-\\d+\\.ts$`));
    const files = await readdir(path.join(root, "live/s", String(year)));
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(files).toHaveLength(5);
    // The HTTP index points at the disk root.
    expect(store.get("/live/s/index.m3u8")).toEqual({ kind: "disk", root });
  });

  it("removes segments that left the window from disk (hls_cleanup) and everything on dispose", async () => {
    const root = path.join(tmp, "cleanup");
    const { publish, unpublish, feed, hls, store } = setup({ storage: "disk", path: root, window: 2 });
    publish();
    const frames = await framesOf("h264-aac");
    feed(frames);
    feed(frames, 10_000);
    feed(frames, 20_000);
    unpublish();
    await hls.settled();
    const left = await readdir(path.join(root, "live"));
    // Window of 1-2 segments, plus the retired ones still inside the grace period.
    expect(left.filter((f) => f.endsWith(".ts")).length).toBeLessThan(6);
    await hls.dispose();
    expect(await readdir(path.join(root, "live"))).toEqual([]);
    expect(store.size).toBe(0);
  });

  it("refuses a stream name that would put files outside hls_path", async () => {
    const root = path.join(tmp, "jail");
    const store = new HlsStore();
    const { publish, feed, hls } = setup({ storage: "disk", path: root, m3u8File: "[stream].m3u8", tsFile: "[stream]-[seq].ts" }, store, "../../escape");
    expect(hls.stopped).toBe(true);
    publish();
    hls.begin({ ...BASE, storage: "disk", path: root });
    feed(await framesOf("h264-aac"));
    await hls.settled();
    expect(store.size).toBe(0);
  });

  it("drops a frame the muxer refuses (hls_on_error continue) and stops for the publish with ignore", async () => {
    const frames = await framesOf("h264-aac");
    const bad = Buffer.from([0x27, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1]); // NALU length past the end
    for (const onError of ["continue", "ignore"] as const) {
      const { publish, unpublish, feed, store, hls, source } = setup({ onError });
      publish();
      feed(frames.slice(0, 60));
      source.onMessage(9, 2500, bad);
      feed(frames.slice(60).map((f) => f));
      unpublish();
      expect(hls.stats.muxErrors).toBe(1);
      if (onError === "continue") expect(uris(playlistOf(store))).toHaveLength(5);
      else expect(uris(playlistOf(store))).toHaveLength(1);
    }
  });

  it("calls disconnect with hls_on_error disconnect", async () => {
    const store = new HlsStore();
    let reason = "";
    const hls = new HlsStream({ vhost: "v", app: "live", stream: "s" }, { ...BASE, onError: "disconnect" }, store, (r) => (reason = r));
    const source = new Source("v", "live", "s", { gopCache: false, gopCacheMaxFrames: 0, timeJitter: "off", mwLatency: 0 });
    source.publish({ id: 1 });
    hls.begin({ ...BASE, onError: "disconnect" });
    source.addConsumer(hls);
    const frames = await framesOf("h264-aac");
    for (const f of frames.slice(0, 20)) source.onMessage(f.type, f.timestamp, f.payload);
    source.onMessage(9, 1000, Buffer.from([0x27, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1]));
    expect(reason).toMatch(/NALU|length|truncated/i);
    expect(hls.stopped).toBe(true);
  });
});
