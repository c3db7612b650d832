import { describe, expect, it } from "vitest";
import { fillTemplate, renderPlaylist, segmentUri, targetDurationOf } from "../../../src/format/hls-playlist.js";

const at = new Date(2026, 10, 25, 9, 5, 7, 42); // local time, as SRS fills date parts

describe("fillTemplate", () => {
  it("fills SRS's names, sequence, duration and Go-style date parts", () => {
    const v = { vhost: "__defaultVhost__", app: "live", stream: "cam", seq: 12, durationMs: 2023.4, time: at };
    expect(fillTemplate("[app]/[stream]-[seq].ts", v)).toBe("live/cam-12.ts");
    expect(fillTemplate("[vhost]/[app]/[stream]/[2006][01][02]/[15][04][05]-[999]-[duration].ts", v)).toBe(
      "__defaultVhost__/live/cam/20261125/090507-042-2023.ts",
    );
    expect(fillTemplate("[stream]-[timestamp].ts", v)).toBe(`cam-${at.getTime()}.ts`);
  });

  it("leaves unknown brackets alone", () => {
    expect(fillTemplate("[app]/[nope]/[stream].m3u8", { vhost: "v", app: "a", stream: "s", time: at })).toBe("a/[nope]/s.m3u8");
  });
});

describe("segmentUri", () => {
  it("is relative to the playlist's directory", () => {
    expect(segmentUri("live/s.m3u8", "live/s-1.ts", "")).toBe("s-1.ts");
    expect(segmentUri("live/s/index.m3u8", "live/s/2026/seg-1.ts", "")).toBe("2026/seg-1.ts");
    expect(segmentUri("s.m3u8", "live/s-1.ts", "")).toBe("live/s-1.ts");
    expect(segmentUri("live/s.m3u8", "ts/s-1.ts", "")).toBe("../ts/s-1.ts");
  });

  it("puts hls_entry_prefix and one slash before it", () => {
    expect(segmentUri("live/s.m3u8", "live/s-1.ts", "http://cdn")).toBe("http://cdn/s-1.ts");
    expect(segmentUri("live/s.m3u8", "live/s-1.ts", "http://cdn/")).toBe("http://cdn/s-1.ts");
  });
});

describe("renderPlaylist", () => {
  const seg = (uri: string, duration: number, discontinuity = false) => ({
    uri,
    duration,
    discontinuity,
    programDateTime: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, 500)),
  });

  it("writes RFC 8216 live playlists with dates and discontinuities", () => {
    const text = renderPlaylist({
      mediaSequence: 7,
      discontinuitySequence: 2,
      targetDuration: 3,
      segments: [seg("s-7.ts", 2.0234), seg("s-8.ts", 1.96, true)],
    });
    expect(text).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-MEDIA-SEQUENCE:7",
        "#EXT-X-TARGETDURATION:3",
        "#EXT-X-DISCONTINUITY-SEQUENCE:2",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T09:00:00.500Z",
        "#EXTINF:2.023,",
        "s-7.ts",
        "#EXT-X-DISCONTINUITY",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T09:00:00.500Z",
        "#EXTINF:1.960,",
        "s-8.ts",
        "",
      ].join("\n"),
    );
  });

  it("says nothing of discontinuities when none has left, and ends only when told", () => {
    const text = renderPlaylist({ mediaSequence: 0, discontinuitySequence: 0, targetDuration: 2, segments: [seg("a.ts", 2)], ended: true });
    expect(text).not.toContain("DISCONTINUITY");
    expect(text.endsWith("#EXT-X-ENDLIST\n")).toBe(true);
  });

  it("takes a target duration that no segment's rounded duration exceeds", () => {
    expect(targetDurationOf([seg("a", 2.0), seg("b", 3.2)], 1.5)).toBe(4);
    expect(targetDurationOf([seg("a", 1.0)], 15)).toBe(15);
    expect(targetDurationOf([], 0.2)).toBe(1);
  });
});
