import { describe, expect, it } from "vitest";
import { matchFlvMount } from "../../../src/app/flv-mount.js";
import { parseConfigText } from "../../../src/conf/config.js";

const { config } = parseConfigText(
  [
    "vhost __defaultVhost__ { http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }",
    "vhost a.example.com { http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }",
    "vhost b.example.com { http_remux { enabled on; mount flv/[app]/[stream].flv; } }",
    "vhost off.example.com { http_remux { enabled off; } }",
  ].join("\n"),
  "conf/x.conf",
);

function m(host: string, path: string) {
  const r = matchFlvMount(config, host, path);
  return r && { vhost: r.vhost.name, app: r.app, stream: r.stream };
}

describe("matchFlvMount", () => {
  it("maps the default vhost without its name in the path", () => {
    expect(m("127.0.0.1:8080", "/live/livestream.flv")).toEqual({ vhost: "__defaultVhost__", app: "live", stream: "livestream" });
  });

  it("maps a named vhost by the Host header or by its name as the first segment", () => {
    expect(m("a.example.com:8080", "/live/s.flv")).toEqual({ vhost: "a.example.com", app: "live", stream: "s" });
    expect(m("A.Example.com", "/live/s.flv")).toEqual({ vhost: "a.example.com", app: "live", stream: "s" });
    expect(m("127.0.0.1", "/a.example.com/live/s.flv")).toEqual({ vhost: "a.example.com", app: "live", stream: "s" });
  });

  it("reads a mount without [vhost] for its vhost only when the Host names it", () => {
    expect(m("b.example.com", "/flv/live/s.flv")).toEqual({ vhost: "b.example.com", app: "live", stream: "s" });
    expect(m("127.0.0.1", "/flv/live/s.flv")).toBeNull();
  });

  it("refuses what no enabled mount names, and decoded slashes or NULs", () => {
    expect(m("off.example.com", "/x/live/s.flv")).toBeNull();
    expect(m("127.0.0.1", "/live/s.mp4")).toBeNull();
    expect(m("127.0.0.1", "/a/b/c/d.flv")).toBeNull();
    expect(m("127.0.0.1", "/live/..%2Fx.flv")).toBeNull();
    expect(m("127.0.0.1", "/live/a%00b.flv")).toBeNull();
    expect(m("127.0.0.1", "/live/%E0%A4%A.flv")).toBeNull();
    expect(m("127.0.0.1", "/live/caf%C3%A9.flv")).toEqual({ vhost: "__defaultVhost__", app: "live", stream: "café" });
  });
});
