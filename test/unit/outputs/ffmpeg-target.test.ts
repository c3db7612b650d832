import { describe, expect, it } from "vitest";
import { parseConfigText, type SluiceConfig } from "../../../src/conf/config.js";
import { dropDefaultVhostParam, fillOutputTemplate, localRtmpUrl, rtmpTarget } from "../../../src/outputs/ffmpeg/ffmpeg-target.js";

function config(text: string): SluiceConfig {
  return parseConfigText(text, "x.conf").config;
}

describe("output templates", () => {
  const time = new Date(2026, 0, 2, 3, 4, 5, 6);

  it("fills SRS's names for a transcode output", () => {
    const out = fillOutputTemplate("rtmp://127.0.0.1:[port]/[app]?vhost=[vhost]/[stream]_[engine][param]", {
      vhost: "v.com",
      port: 19350,
      app: "live",
      stream: "cam",
      param: "?token=1",
      engine: "sd",
    });
    expect(out).toBe("rtmp://127.0.0.1:19350/live?vhost=v.com/cam_sd?token=1");
  });

  it("fills date parts and [timestamp] in local time", () => {
    expect(fillOutputTemplate("/rec/[2006]-[01]-[02]_[15].[04].[05]_[999]-[timestamp].flv", {}, time)).toBe(`/rec/2026-01-02_03.04.05_006-${time.getTime()}.flv`);
  });

  it("leaves names without a value as they are (an ingest has no [app] or [stream])", () => {
    expect(fillOutputTemplate("rtmp://h:[port]/[app]/[stream]?vhost=[vhost]", { vhost: "v", port: 1935 })).toBe("rtmp://h:1935/[app]/[stream]?vhost=v");
  });

  it("fills once: a stream named like a template stays", () => {
    expect(fillOutputTemplate("[stream]_[engine]", { stream: "[01]", engine: "[stream]" }, time)).toBe("[01]_[stream]");
  });

  it("drops vhost=__defaultVhost__ from an ingest's output, as SRS", () => {
    expect(dropDefaultVhostParam("rtmp://127.0.0.1:1935/live/livestream?vhost=__defaultVhost__")).toBe("rtmp://127.0.0.1:1935/live/livestream");
    expect(dropDefaultVhostParam("rtmp://127.0.0.1:1935/live?vhost=__defaultVhost__/livestream")).toBe("rtmp://127.0.0.1:1935/live/livestream");
    expect(dropDefaultVhostParam("rtmp://h/live/s?vhost=__defaultVhost__&a=1")).toBe("rtmp://h/live/s?a=1");
    expect(dropDefaultVhostParam("rtmp://h/live/s?a=1&vhost=__defaultVhost__")).toBe("rtmp://h/live/s?a=1");
    expect(dropDefaultVhostParam("rtmp://h/live/s?vhost=other")).toBe("rtmp://h/live/s?vhost=other");
  });
});

describe("RTMP URLs of this server", () => {
  const c = config("listen 19350 19351;\nvhost __defaultVhost__ { }\nvhost v.com { }\n");

  it("a transcoder plays the stream at 127.0.0.1 and the first port, naming the vhost (SRS's form)", () => {
    expect(localRtmpUrl(c, "v.com", "live", "cam")).toBe("rtmp://127.0.0.1:19350/live?vhost=v.com/cam");
    expect(localRtmpUrl(config("listen 10.1.2.3:1936;"), "__defaultVhost__", "live", "cam")).toBe("rtmp://10.1.2.3:1936/live?vhost=__defaultVhost__/cam");
  });

  it("names the stream of a URL of this server in either vhost form", () => {
    expect(rtmpTarget("rtmp://127.0.0.1:19350/live?vhost=v.com/cam_sd", c)).toEqual({ vhost: "v.com", app: "live", stream: "cam_sd", local: true });
    expect(rtmpTarget("rtmp://localhost:19351/live/cam_sd?vhost=v.com", c)).toEqual({ vhost: "v.com", app: "live", stream: "cam_sd", local: true });
  });

  it("puts a host or vhost this server does not have in the default vhost, as the server does", () => {
    expect(rtmpTarget("rtmp://127.0.0.1:19350/live/cam", c)).toMatchObject({ vhost: "__defaultVhost__", local: true });
    expect(rtmpTarget("rtmp://127.0.0.1:19350/live?vhost=nope/cam", c)).toMatchObject({ vhost: "__defaultVhost__", local: true });
  });

  it("tells another server apart", () => {
    expect(rtmpTarget("rtmp://127.0.0.1:1935/live/cam", c)).toMatchObject({ local: false });
    expect(rtmpTarget("rtmp://other.example.com:19350/live/cam", c)).toEqual({ vhost: "other.example.com", app: "live", stream: "cam", local: false });
    expect(rtmpTarget("srt://h:1/x", c)).toBeNull();
    expect(rtmpTarget("/tmp/out.flv", c)).toBeNull();
  });
});
