import * as path from "node:path";
import { describe, it, expect } from "vitest";
import { loadConfig, parseConfigText, DEFAULT_VHOST, type ConfigWarning } from "../../../src/conf/config.js";
import { ConfigContext } from "../../../src/conf/directive-reader.js";
import { readFlag } from "../../../src/conf/directive-values.js";
import { catchConfError } from "./catch-conf-error.js";

function load(text: string) {
  return parseConfigText(text, "conf/x.conf");
}

function messages(warnings: ConfigWarning[]): string[] {
  return warnings.map((w) => w.message);
}

function errorOf(text: string, code: string): string {
  const err = catchConfError(() => load(text));
  expect(err.code).toBe(code);
  return err.message;
}

const PLAY_DEFAULTS = { gopCache: true, gopCacheMaxFrames: 2500, queueLength: 10, timeJitter: "full", mwLatency: 350, mwMsgs: 8 };
/** min_latency, tcp_nodelay and publish { } (see server-options.test.ts). */
const VHOST_OPTION_DEFAULTS = {
  minLatency: false,
  tcpNodelay: false,
  publish: { firstPktTimeout: 20000, normalTimeout: 5000 },
  hls: {
    enabled: false,
    fragment: 10,
    tdRatio: 1.5,
    aofRatio: 2,
    window: 60,
    path: "./objs/nginx/html",
    m3u8File: "[app]/[stream].m3u8",
    tsFile: "[app]/[stream]-[seq].ts",
    entryPrefix: "",
    acodec: "aac",
    vcodec: "h264",
    cleanup: true,
    dispose: 0,
    waitKeyframe: true,
    storage: "disk",
    onError: "continue",
  },
  httpRemux: { enabled: false, mount: "[vhost]/[app]/[stream].flv", hasAudio: true, hasVideo: true },
  httpHooks: { enabled: false, timeout: 30, onConnect: [], onClose: [], onPublish: [], onUnpublish: [], onPlay: [], onStop: [], onDvr: [], onHls: [] },
  forward: { enabled: false, destination: [] },
  cluster: { mode: "local", origin: [], tokenTraverse: false },
  dvr: {
    enabled: false,
    apply: ["all"],
    plan: "session",
    path: "./objs/nginx/html/[app]/[stream].[timestamp].flv",
    duration: 30,
    waitKeyframe: true,
    timeJitter: "full",
  },
  bandcheck: { enabled: false, key: "", interval: 30, limitKbps: 1000 },
  transcodes: [],
  ingests: [],
};
const ACCESS_DEFAULTS = {
  refer: { enabled: false, all: [], publish: [], play: [] },
  security: { enabled: false, rules: [] },
};

describe("defaults", () => {
  it("gives SRS's defaults for an empty file, with the default vhost", () => {
    const { config, warnings } = load("");
    expect(warnings).toEqual([]);
    expect(config.file).toBe(path.resolve("conf/x.conf"));
    expect(config.listen).toEqual([{ host: "0.0.0.0", port: 1935 }]);
    expect(config.chunkSize).toBe(60000);
    expect(config.maxConnections).toBe(1000);
    expect(config.daemon).toBe(true);
    expect(config.pid).toBe("./objs/srs.pid");
    expect(config.log).toEqual({ tank: "console", level: "trace", file: "./objs/srs.log", format: "text" });
    expect([...config.vhosts.keys()]).toEqual([DEFAULT_VHOST]);
    expect(config.vhosts.get(DEFAULT_VHOST)).toEqual({ name: DEFAULT_VHOST, enabled: true, chunkSize: 60000, play: PLAY_DEFAULTS, ...ACCESS_DEFAULTS, ...VHOST_OPTION_DEFAULTS });
  });

  it("defaults every field of a vhost and its play block", () => {
    const { config } = load("chunk_size 4096;\nvhost a.com { play { } }");
    expect(config.vhosts.get("a.com")).toEqual({ name: "a.com", enabled: true, chunkSize: 4096, play: PLAY_DEFAULTS, ...ACCESS_DEFAULTS, ...VHOST_OPTION_DEFAULTS });
    expect(config.vhosts.has(DEFAULT_VHOST)).toBe(true);
  });

  it("freezes the whole config, the vhost map included", () => {
    const { config } = load("listen 1935;\nvhost a { play { mw_msgs 2; } }");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
    expect(Object.isFrozen(config.listen[0])).toBe(true);
    expect(Object.isFrozen(config.log)).toBe(true);
    const vhost = config.vhosts.get("a");
    expect(Object.isFrozen(vhost)).toBe(true);
    expect(Object.isFrozen(vhost?.play)).toBe(true);
    const map = config.vhosts as Map<string, unknown>;
    expect(() => map.set("b", {})).toThrow(TypeError);
    expect(() => map.delete("a")).toThrow(TypeError);
    expect(() => map.clear()).toThrow(TypeError);
    expect(config.vhosts.size).toBe(2);
  });
});

describe("implemented directives", () => {
  it("reads the global directives", () => {
    const { config, warnings } = load(
      [
        "listen 1935 127.0.0.1:1936 [::1]:1937;",
        "listen 10.0.0.1:19350;",
        "chunk_size 4096;",
        "max_connections 3;",
        "daemon off;",
        "pid /run/sluice.pid;",
        "srs_log_tank file;",
        "srs_log_level warn;",
        'srs_log_file "/var/log/my sluice.log";',
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    expect(config.listen).toEqual([
      { host: "0.0.0.0", port: 1935 },
      { host: "127.0.0.1", port: 1936 },
      { host: "::1", port: 1937 },
      { host: "10.0.0.1", port: 19350 },
    ]);
    expect(config).toMatchObject({ chunkSize: 4096, maxConnections: 3, daemon: false, pid: "/run/sluice.pid" });
    expect(config.log).toEqual({ tank: "file", level: "warn", file: "/var/log/my sluice.log", format: "text" });
  });

  it("reads a port after the last ':' of an unbracketed IPv6 address, as SRS", () => {
    expect(load("listen ::1:1935;").config.listen).toEqual([{ host: "::1", port: 1935 }]);
  });

  it("ignores a repeated listen address with a warning", () => {
    const { config, warnings } = load("listen 1935;\nlisten 0.0.0.0:1935 1936;");
    expect(config.listen).toEqual([{ host: "0.0.0.0", port: 1935 }, { host: "0.0.0.0", port: 1936 }]);
    expect(messages(warnings)).toEqual(["conf/x.conf:2:1: duplicate listen address 0.0.0.0:1935 ignored (first at conf/x.conf:1:1)"]);
  });

  it("reads a vhost and its play block", () => {
    const { config } = load(
      "vhost live.example.com {\n  enabled off;\n  chunk_size 128;\n  play {\n    gop_cache off;\n    gop_cache_max_frames 0;\n    queue_length 2.5;\n    time_jitter zero;\n    mw_latency 0;\n    mw_msgs 1;\n  }\n}",
    );
    expect(config.vhosts.get("live.example.com")).toEqual({
      name: "live.example.com",
      enabled: false,
      chunkSize: 128,
      play: { gopCache: false, gopCacheMaxFrames: 0, queueLength: 2.5, timeJitter: "zero", mwLatency: 0, mwMsgs: 1 },
      ...ACCESS_DEFAULTS, ...VHOST_OPTION_DEFAULTS,
    });
  });

  it("gives a vhost the global chunk_size wherever it is written", () => {
    const { config } = load("vhost a { }\nchunk_size 8192;");
    expect(config.vhosts.get("a")?.chunkSize).toBe(8192);
  });

  it("reads the first of a repeated directive and warns about the others, as SRS reads the first", () => {
    const { config, warnings } = load("chunk_size 4096;\ndaemon off;\nchunk_size 8192;\nvhost a {\n  play { mw_msgs 2; }\n  play { mw_msgs 3; }\n}");
    expect(config.chunkSize).toBe(4096);
    expect(config.vhosts.get("a")?.play.mwMsgs).toBe(2);
    expect(messages(warnings)).toEqual([
      `conf/x.conf:3:1: duplicate "chunk_size" ignored: as SRS, the first one is used (conf/x.conf:1:1)`,
      `conf/x.conf:6:3: duplicate "play" ignored: as SRS, the first one is used (conf/x.conf:5:3)`,
    ]);
  });

  it("caps mw_msgs at 128 with a warning, as SRS", () => {
    const { config, warnings } = load("vhost a { play { mw_msgs 500; } }");
    expect(config.vhosts.get("a")?.play.mwMsgs).toBe(128);
    expect(messages(warnings)).toEqual([`conf/x.conf:1:18: "mw_msgs" 500 is more than 128: read as 128, as SRS does`]);
  });
});

describe("on/off as SRS reads it", () => {
  it("reads on and off", () => {
    expect(load("daemon on;").config.daemon).toBe(true);
    expect(load("daemon off;").config.daemon).toBe(false);
  });

  it("turns off a switch that is on by default only with \"off\", warning about other words", () => {
    const { config, warnings } = load("daemon false;\nvhost a { enabled no; play { gop_cache 0; } }");
    expect(config.daemon).toBe(true);
    expect(config.vhosts.get("a")?.enabled).toBe(true);
    expect(config.vhosts.get("a")?.play.gopCache).toBe(true);
    expect(messages(warnings)[0]).toBe(
      `conf/x.conf:1:1: "daemon" expects on|off, given "false": read as on, as SRS does (only "off" turns off a switch that is on by default)`,
    );
    expect(warnings).toHaveLength(3);
  });

  it("turns on a switch that is off by default only with \"on\"", () => {
    const ctx = new ConfigContext();
    const d = (v: string) => ({ name: "utc_time", args: [v], file: "x.conf", line: 1, column: 1 });
    expect(readFlag(d("on"), ctx, false)).toBe(true);
    expect(readFlag(d("yes"), ctx, false)).toBe(false);
    expect(readFlag(d("true"), ctx, false)).toBe(false);
    expect(ctx.warnings.map((w) => w.message)).toEqual([
      `x.conf:1:1: "utc_time" expects on|off, given "yes": read as off, as SRS does (only "on" turns on a switch that is off by default)`,
      `x.conf:1:1: "utc_time" expects on|off, given "true": read as off, as SRS does (only "on" turns on a switch that is off by default)`,
    ]);
  });

  it("refuses a switch without a value or with several", () => {
    expect(errorOf("\n  daemon;", "ERR_CONF_VALUE")).toBe(`conf/x.conf:2:3: missing value for "daemon": expected on|off`);
    expect(errorOf("daemon on off;", "ERR_CONF_VALUE")).toBe(
      `conf/x.conf:1:1: too many values for "daemon", given 2 ("on" "off"): expected one, on|off`,
    );
  });
});

describe("value errors name the place, the directive, the value and what was expected", () => {
  it.each([
    ["chunk_size 127;", `conf/x.conf:1:1: invalid value "127" for "chunk_size": expected an integer 128..65536`],
    ["chunk_size 65537;", `conf/x.conf:1:1: invalid value "65537" for "chunk_size": expected an integer 128..65536`],
    ["chunk_size 4k;", `conf/x.conf:1:1: invalid value "4k" for "chunk_size": expected an integer 128..65536`],
    ["vhost a {\n    chunk_size -1;\n}", `conf/x.conf:2:5: invalid value "-1" for "chunk_size": expected an integer 128..65536`],
    ["max_connections 0;", `conf/x.conf:1:1: invalid value "0" for "max_connections": expected an integer >= 1`],
    ["listen 0;", `conf/x.conf:1:1: invalid address "0" for "listen": expected a port 1..65535, given "0"`],
    ["listen 65536;", `conf/x.conf:1:1: invalid address "65536" for "listen": expected a port 1..65535, given "65536"`],
    ["listen 1935 rtmp;", `conf/x.conf:1:1: invalid address "rtmp" for "listen": expected a port 1..65535, given "rtmp"`],
    ["listen 127.0.0.1:;", `conf/x.conf:1:1: invalid address "127.0.0.1:" for "listen": expected a port 1..65535, given ""`],
    ["listen localhost:1935;", `conf/x.conf:1:1: invalid address "localhost:1935" for "listen": expected an IP address before the port, given "localhost"`],
    ["listen;", `conf/x.conf:1:1: missing value for "listen": expected [IP:]PORT, e.g. 1935, 127.0.0.1:1935 or [::1]:1935`],
    ["srs_log_tank syslog;", `conf/x.conf:1:1: invalid value "syslog" for "srs_log_tank": expected console|file`],
    ["srs_log_level debug;", `conf/x.conf:1:1: invalid value "debug" for "srs_log_level": expected verbose|info|trace|warn|error`],
    ["pid \"\";", `conf/x.conf:1:1: invalid value "" for "pid": expected a file path`],
    ["vhost a { play { time_jitter fast; } }", `conf/x.conf:1:18: invalid value "fast" for "time_jitter": expected full|zero|off`],
    ["vhost a { play { queue_length 1e3; } }", `conf/x.conf:1:18: invalid value "1e3" for "queue_length": expected a number of seconds 0..86400`],
    ["vhost a { play { mw_latency 1.5; } }", `conf/x.conf:1:18: invalid value "1.5" for "mw_latency": expected an integer >= 0`],
  ])("%s", (text, message) => {
    expect(errorOf(text, "ERR_CONF_VALUE")).toBe(message);
  });

  it("refuses a vhost without a name and a vhost defined twice", () => {
    expect(errorOf("vhost { }", "ERR_CONF_VALUE")).toBe(
      `conf/x.conf:1:1: missing value for "vhost": expected a vhost name, e.g. vhost __defaultVhost__ { }`,
    );
    expect(errorOf("vhost a.com { }\n\nvhost a.com { enabled off; }", "ERR_CONF_VALUE")).toBe(
      `conf/x.conf:3:1: duplicate vhost "a.com": expected each vhost once (first at conf/x.conf:1:1)`,
    );
  });
});

describe("unknown directives", () => {
  it("suggests the nearest known name at that level", () => {
    expect(errorOf("listen 1935;\nchunck_size 4096;", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:2:1: unknown directive "chunck_size" at the top level; did you mean "chunk_size"?`,
    );
    expect(errorOf("vhost a {\n    play {\n        gop_cahce off;\n    }\n}", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:3:9: unknown directive "gop_cahce" in "vhost.play"; did you mean "gop_cache"?`,
    );
    expect(errorOf("vhost a { enable off; }", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:1:11: unknown directive "enable" in "vhost"; did you mean "enabled"?`,
    );
  });

  it("finds misspellings inside blocks that are not implemented yet", () => {
    expect(errorOf("vhost a {\n  hls {\n    enabled on;\n    hls_fragmnet 10;\n  }\n}", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:4:5: unknown directive "hls_fragmnet" in "vhost.hls"; did you mean "hls_fragment"?`,
    );
    expect(errorOf("http_api {\n  auth { usrname admin; }\n}", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:2:10: unknown directive "usrname" in "http_api.auth"; did you mean "username"?`,
    );
  });

  it("says where a directive belongs when it is known in another block", () => {
    expect(errorOf("vhost a { hls_fragment 10; }", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:1:11: unknown directive "hls_fragment" in "vhost"; it belongs in "vhost.hls"`,
    );
    expect(errorOf("vhost a { play { daemon off; } }", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:1:18: unknown directive "daemon" in "vhost.play"; it belongs in the top level`,
    );
  });

  it("gives no suggestion when nothing is close", () => {
    expect(errorOf("worker_processes 3;", "ERR_CONF_UNKNOWN_DIRECTIVE")).toBe(
      `conf/x.conf:1:1: unknown directive "worker_processes" at the top level`,
    );
  });

  it("does not take names of Object.prototype for directives", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(errorOf(`${name} 1;`, "ERR_CONF_UNKNOWN_DIRECTIVE")).toMatch(/^conf\/x\.conf:1:1: unknown directive/);
      expect(errorOf(`vhost a { play { ${name} 1; } }`, "ERR_CONF_UNKNOWN_DIRECTIVE")).toMatch(/unknown directive/);
    }
  });

  it("refuses a block where SRS has a plain directive", () => {
    expect(errorOf("vhost a {\n  chunk_size 128 { }\n}", "ERR_CONF_SYNTAX")).toBe(
      `conf/x.conf:2:3: "chunk_size" is not a block: expected ';' after its arguments, found '{'`,
    );
  });
});

describe("directives SRS knows that are not implemented yet", () => {
  it("warns once per directive path, whatever the number of vhosts", () => {
    const { warnings } = load(
      "rtc_server { enabled on; }\nvhost a {\n  dvr { enabled on; }\n}\nvhost b {\n  dvr { enabled off; }\n  play { atc on; }\n}\nvhost c { play { atc off; } }\nrtc_server { listen 8000; }",
    );
    expect(messages(warnings)).toEqual([
      `conf/x.conf:1:1: "rtc_server" is not implemented yet; ignored`,
      `conf/x.conf:7:10: "play.atc" is not implemented yet; ignored`,
    ]);
    expect(warnings.every((w) => w.level === "warn")).toBe(true);
  });

  it("accepts any child in free-form blocks such as vfilter, vparams and aparams", () => {
    const { warnings } = load(
      [
        "vhost a {",
        "  transcode live {",
        "    enabled on;",
        "    engine sd {",
        "      vfilter { i ./logo.png; filter_complex 'overlay=10:10'; }",
        "      vparams { t 100; coder 1; anything { nested; } }",
        "      aparams { profile:a aac_low; }",
        "      perfile { re; rtsp_transport tcp; }",
        "    }",
        "  }",
        "  ingest cam { input { type stream; url rtsp://x; } engine { vparams { x 1; } } }",
        "}",
      ].join("\n"),
    );
    expect(messages(warnings)).toEqual([]);
  });

  it("says when SRS removed a directive", () => {
    const { warnings } = load("vhost a { hls { hls_mount /x; } }");
    expect(messages(warnings)).toEqual([`conf/x.conf:1:17: "hls.hls_mount" was removed from SRS and has no effect; ignored`]);
    const { warnings: w2 } = load("pithy_print { publish 10000; }");
    expect(messages(w2)).toEqual([`conf/x.conf:1:1: "pithy_print" was removed from SRS and has no effect; ignored`]);
  });
});

describe("SRS's older spellings", () => {
  it("reads vhost-level play directives into play, with a notice giving the new form", () => {
    const { config, warnings } = load(
      "vhost a {\n  gop_cache off;\n  queue_length 30;\n  time_jitter zero;\n  mw_latency 100;\n  gop_cache_max_frames 10;\n}",
    );
    expect(config.vhosts.get("a")?.play).toEqual({
      gopCache: false,
      gopCacheMaxFrames: 10,
      queueLength: 30,
      timeJitter: "zero",
      mwLatency: 100,
      mwMsgs: 8,
    });
    expect(warnings.map((w) => [w.level, w.message])).toEqual([
      ["notice", `conf/x.conf:2:3: vhost-level "gop_cache" is SRS's older form; read as "play { gop_cache off; }"`],
      ["notice", `conf/x.conf:3:3: vhost-level "queue_length" is SRS's older form; read as "play { queue_length 30; }"`],
      ["notice", `conf/x.conf:4:3: vhost-level "time_jitter" is SRS's older form; read as "play { time_jitter zero; }"`],
      ["notice", `conf/x.conf:5:3: vhost-level "mw_latency" is SRS's older form; read as "play { mw_latency 100; }"`],
      ["notice", `conf/x.conf:6:3: vhost-level "gop_cache_max_frames" is SRS's older form; read as "play { gop_cache_max_frames 10; }"`],
    ]);
  });

  it("lets the older spelling override play { }, the last one winning, as SRS's transform does", () => {
    const { config, warnings } = load(
      "vhost a {\n  play { gop_cache on; mw_latency 1; }\n  gop_cache off;\n  mw_latency 2;\n  mw_latency 3;\n}\nvhost b { gop_cache off; }",
    );
    expect(config.vhosts.get("a")?.play).toMatchObject({ gopCache: false, mwLatency: 3 });
    expect(config.vhosts.get("b")?.play.gopCache).toBe(false);
    // One notice per directive, not per occurrence or vhost.
    expect(warnings).toHaveLength(2);
  });

  it("names the new form of an older spelling that is not implemented yet", () => {
    const { warnings } = load("http_stream { enabled on; }\nvhost a {\n  atc on;\n  refer a.com;\n  forward 127.0.0.1:1936;\n  mr { enabled on; latency 350; }\n}");
    expect(messages(warnings)).toEqual([
      `conf/x.conf:1:1: "http_stream" is SRS's older form of "http_server", which is not implemented yet; ignored`,
      `conf/x.conf:3:3: "atc" is SRS's older form of "play.atc", which is not implemented yet; ignored`,
      `conf/x.conf:4:3: vhost-level "refer" is SRS's older form; read as "refer { enabled on; all a.com; }"`,
      `conf/x.conf:5:3: vhost-level "forward 127.0.0.1:1936;" is SRS's older form; read as "forward { enabled on; destination 127.0.0.1:1936; }"`,
      `conf/x.conf:6:3: "mr" is SRS's older form of "publish.mr", which is not implemented yet; ignored`,
    ]);
  });
});

describe("fixtures in SRS's style", () => {
  const fixture = (name: string) => `test/fixtures/conf/${name}`;

  it("loads a plain RTMP server (like SRS's rtmp.conf) without warnings", () => {
    const { config, warnings } = loadConfig(fixture("rtmp.conf"));
    expect(warnings).toEqual([]);
    expect(config.file).toBe(path.resolve(fixture("rtmp.conf")));
    expect(config).toMatchObject({ daemon: false, maxConnections: 1000, log: { tank: "console" } });
    expect(config.listen).toEqual([{ host: "0.0.0.0", port: 1935 }]);
  });

  it("loads an origin like SRS's srs.conf with one warning per feature not implemented yet", () => {
    const { config, warnings } = loadConfig(fixture("origin.conf"));
    expect(messages(warnings)).toEqual([
      `${fixture("origin.conf")}:17:1: "rtc_server" is not implemented yet; ignored`,
      `${fixture("origin.conf")}:30:5: "rtc" is not implemented yet; ignored`,
    ]);
    expect(config.daemon).toBe(true);
    expect(config.vhosts.get(DEFAULT_VHOST)?.play.gopCacheMaxFrames).toBe(2500);
    expect(config.httpServer).toEqual({
      enabled: true,
      listen: [{ host: "0.0.0.0", port: 8080 }],
      dir: "./objs/nginx/html",
      crossdomain: true,
    });
  });

  it("reads http_server with SRS's defaults", () => {
    expect(parseConfigText("", "conf/x.conf").config.httpServer).toEqual({
      enabled: false,
      listen: [{ host: "0.0.0.0", port: 8080 }],
      dir: "./objs/nginx/html",
      crossdomain: true,
    });
    const { config, warnings } = parseConfigText(
      "http_server { enabled on; listen 127.0.0.1:8081; dir ./www; crossdomain off; }",
      "conf/x.conf",
    );
    expect(warnings).toEqual([]);
    expect(config.httpServer).toEqual({
      enabled: true,
      listen: [{ host: "127.0.0.1", port: 8081 }],
      dir: "./www",
      crossdomain: false,
    });
    expect(() => parseConfigText("http_server { listen nope; }", "conf/x.conf")).toThrow(/listen/);
  });

  it("loads HLS and HTTP-FLV configs like SRS's hls.conf and http.flv.live.conf", () => {
    const hls = loadConfig(fixture("hls.conf"));
    expect(messages(hls.warnings)).toEqual([]);
    expect(hls.config.vhosts.get(DEFAULT_VHOST)?.hls).toMatchObject({ enabled: true, fragment: 10, window: 60, path: "./objs/nginx/html" });
    const flv = loadConfig(fixture("http-flv.conf"));
    expect(messages(flv.warnings)).toEqual([]);
    expect(flv.config.vhosts.get(DEFAULT_VHOST)?.httpRemux).toEqual({ enabled: true, mount: "[vhost]/[app]/[stream].flv", hasAudio: true, hasVideo: true });
  });

  it("loads a config of SRS 1 and 2 spellings", () => {
    const { config, warnings } = loadConfig(fixture("legacy-srs1.conf"));
    expect(config.listen).toEqual([{ host: "0.0.0.0", port: 1935 }, { host: "0.0.0.0", port: 19350 }]);
    expect(config.log).toEqual({ tank: "file", level: "warn", file: "./objs/legacy.log", format: "text" });
    expect(config.vhosts.get(DEFAULT_VHOST)?.play).toEqual({ ...PLAY_DEFAULTS, gopCache: false, queueLength: 30, timeJitter: "zero", mwLatency: 100 });
    const old = config.vhosts.get("old.srs.com");
    expect(old).toMatchObject({ enabled: true, chunkSize: 128 });
    expect(old?.play).toMatchObject({ gopCache: false, mwMsgs: 4 });
    expect(old?.refer).toEqual({ enabled: true, all: ["github.com", "github.io"], publish: [], play: [] });
    // Five older play/refer spellings and `forward HOST:PORT;`.
    expect(warnings.filter((w) => w.level === "notice")).toHaveLength(6);
    expect(messages(warnings.filter((w) => w.level === "warn"))).toEqual([
      `${fixture("legacy-srs1.conf")}:9:1: "pithy_print" was removed from SRS and has no effect; ignored`,
      `${fixture("legacy-srs1.conf")}:13:1: "http_stream" is SRS's older form of "http_server", which is not implemented yet; ignored`,
    ]);
  });

  it("resolves includes against the working directory", () => {
    const { config } = loadConfig(fixture("include-main.conf"));
    expect([...config.vhosts.keys()].sort()).toEqual([DEFAULT_VHOST, "a.example.com", "b.example.com"]);
    expect(config.vhosts.get("a.example.com")?.chunkSize).toBe(4096);
    expect(config.vhosts.get("b.example.com")?.enabled).toBe(false);
  });

  it("refuses an include cycle", () => {
    const err = catchConfError(() => loadConfig(fixture("include-cycle-a.conf")));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toBe(
      `${fixture("include-cycle-b.conf")}:3:1: include cycle: ${fixture("include-cycle-a.conf")} -> ${fixture("include-cycle-b.conf")} -> ${fixture("include-cycle-a.conf")} (included from ${fixture("include-cycle-a.conf")}:2:1)`,
    );
  });
});

describe("hls { } and http_remux { }", () => {
  it("reads every HLS directive, with ram as memory", () => {
    const { config, warnings } = load(
      [
        "vhost a {",
        "  hls {",
        "    enabled on; hls_fragment 4; hls_td_ratio 2; hls_aof_ratio 1.5; hls_window 30;",
        "    hls_path /var/hls; hls_m3u8_file [app]/[stream]/index.m3u8; hls_ts_file [app]/[stream]/[seq].ts;",
        "    hls_entry_prefix https://cdn.example.com; hls_acodec an; hls_vcodec h265; hls_cleanup off;",
        "    hls_dispose 30; hls_wait_keyframe off; hls_storage ram; hls_on_error ignore;",
        "  }",
        "  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; has_audio off; }",
        "}",
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    expect(config.vhosts.get("a")?.hls).toEqual({
      enabled: true,
      fragment: 4,
      tdRatio: 2,
      aofRatio: 1.5,
      window: 30,
      path: "/var/hls",
      m3u8File: "[app]/[stream]/index.m3u8",
      tsFile: "[app]/[stream]/[seq].ts",
      entryPrefix: "https://cdn.example.com",
      acodec: "an",
      vcodec: "h265",
      cleanup: false,
      dispose: 30,
      waitKeyframe: false,
      storage: "memory",
      onError: "ignore",
    });
    expect(config.vhosts.get("a")?.httpRemux).toEqual({ enabled: true, mount: "[vhost]/[app]/[stream].flv", hasAudio: false, hasVideo: true });
  });

  it("refuses templates that leave hls_path or lack what they need, saying where", () => {
    for (const [text, what] of [
      ["hls { hls_ts_file ../[stream]-[seq].ts; }", /hls_ts_file.*relative path under hls_path/],
      ["hls { hls_m3u8_file /abs/[stream].m3u8; }", /hls_m3u8_file/],
      ["hls { hls_ts_file [stream].mp4; }", /ending in \.ts/],
      ["hls { hls_fragment 0; }", /hls_fragment/],
      ["hls { hls_storage cloud; }", /hls_storage/],
      ["http_remux { mount /live/x.flv; }", /\[app\] and \[stream\]/],
      ["http_remux { mount [app]/[stream].mp4; }", /ending in \.flv/],
    ] as const) {
      expect(() => load(`vhost a { ${text} }`), text).toThrow(what);
    }
  });
});

describe("http_api { }, http_hooks { }, exporter { }, srs_log_format", () => {
  it("reads them as SRS writes them", () => {
    const { config, warnings } = load(
      [
        "srs_log_format json;",
        "http_api { enabled on; listen 127.0.0.1:1986; crossdomain off;",
        "  auth { enabled on; username admin; password \"\"; } raw_api { enabled on; allow_reload on; } }",
        "exporter { enabled on; listen 9973; label cn-beijing; tag cn-edge; }",
        "vhost a { http_hooks { enabled on; on_publish http://127.0.0.1:8085/api/v1/streams http://b/x;",
        "  on_publish https://c/y; on_play http://127.0.0.1:8085/api/v1/sessions; } }",
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    expect(config.log.format).toBe("json");
    expect(config.httpApi).toEqual({
      enabled: true,
      listen: [{ host: "127.0.0.1", port: 1986 }],
      crossdomain: false,
      auth: { enabled: true, username: "admin", password: "" },
      rawApi: { enabled: true, allowReload: true },
    });
    expect(config.exporter).toEqual({ enabled: true, listen: [{ host: "0.0.0.0", port: 9973 }], label: "cn-beijing", tag: "cn-edge" });
    const hooks = config.vhosts.get("a")!.httpHooks;
    expect(hooks.enabled).toBe(true);
    expect(hooks.onPublish).toEqual(["http://127.0.0.1:8085/api/v1/streams", "http://b/x", "https://c/y"]);
    expect(hooks.onPlay).toEqual(["http://127.0.0.1:8085/api/v1/sessions"]);
    expect(hooks.onStop).toEqual([]);
  });

  it("refuses a hook that is not an http(s) URL, saying where", () => {
    expect(() => load("vhost a {\n  http_hooks { on_play ftp://x/y; } }")).toThrow(/x\.conf:2:16: invalid value "ftp:\/\/x\/y" for "on_play": expected an http:\/\/ or https:\/\/ URL/);
    expect(() => load("vhost a { http_hooks { on_play; } }")).toThrow(/missing value for "on_play"/);
  });
});

describe("http_hooks without enabled (SRS 1)", () => {
  it("is on when it has URLs, with a notice, and off otherwise", () => {
    const { config, warnings } = load("vhost a { http_hooks { on_publish http://h/p; } }\nvhost b { http_hooks { } }");
    expect(config.vhosts.get("a")?.httpHooks.enabled).toBe(true);
    expect(config.vhosts.get("b")?.httpHooks.enabled).toBe(false);
    expect(warnings.map((w) => [w.level, w.message])).toEqual([
      ["notice", `conf/x.conf:1:11: "http_hooks" without "enabled" is SRS's older form; read as "enabled on;" because it has URLs`],
    ]);
  });
});

describe("forward, cluster, dvr, transcode, ingest (read now, run with issue 9)", () => {
  const text = [
    "ff_log_dir /dev/null;",
    "vhost a {",
    "  forward { enabled on; destination 127.0.0.1:19350 [::1]:1936; destination b.example.com; }",
    "  cluster { mode remote; origin 127.0.0.1:19351 127.0.0.1:19352; token_traverse on; }",
    "  dvr { enabled on; dvr_apply live/cam live/b; dvr_plan segment; dvr_path ./rec/[app]/[stream]-[timestamp].mp4; dvr_duration 10; dvr_wait_keyframe off; time_jitter zero; }",
    "  transcode live/livestream { enabled on; ffmpeg ffmpeg; engine sd { enabled on; vcodec libx264; vbitrate 300; vwidth 320; vheight 240;",
    "    vfilter { i ./logo.png; filter_complex 'overlay=10:10'; } acodec aac; abitrate 45; output rtmp://127.0.0.1:[port]/[app]?vhost=[vhost]/[stream]_[engine]; } }",
    "  ingest cam { enabled on; input { type stream; url rtsp://cam/x; } ffmpeg /usr/bin/ffmpeg; engine { enabled off; output rtmp://127.0.0.1:[port]/live/cam; } }",
    "}",
  ].join("\n");

  it("reads every field, and warns that the features do not run yet", () => {
    const { config, warnings } = load(text);
    const v = config.vhosts.get("a")!;
    expect(config.ffLogDir).toBe("/dev/null");
    expect(v.forward).toEqual({ enabled: true, destination: ["127.0.0.1:19350", "[::1]:1936", "b.example.com"] });
    expect(v.cluster).toEqual({ mode: "remote", origin: ["127.0.0.1:19351", "127.0.0.1:19352"], tokenTraverse: true });
    expect(v.dvr).toEqual({ enabled: true, apply: ["live/cam", "live/b"], plan: "segment", path: "./rec/[app]/[stream]-[timestamp].mp4", duration: 10, waitKeyframe: false, timeJitter: "zero" });
    expect(v.transcodes).toHaveLength(1);
    const t = v.transcodes[0]!;
    expect(t).toMatchObject({ scope: "live/livestream", enabled: true, ffmpeg: "ffmpeg" });
    expect(t.engines[0]).toMatchObject({ name: "sd", enabled: true, vcodec: "libx264", vbitrate: 300, vwidth: 320, vheight: 240, acodec: "aac", abitrate: 45 });
    expect(t.engines[0]!.vfilter).toEqual([["i", "./logo.png"], ["filter_complex", "overlay=10:10"]]);
    expect(v.ingests[0]).toMatchObject({ name: "cam", enabled: true, input: { type: "stream", url: "rtsp://cam/x" }, ffmpeg: "/usr/bin/ffmpeg" });
    expect(messages(warnings)).toEqual([]);
  });

  it("refuses bad values, saying where", () => {
    for (const [body, what] of [
      ["forward { destination rtmp://x/live; }", /expected HOST\[:PORT\]/],
      ["forward { destination 1.2.3.4:99999; }", /expected HOST\[:PORT\]/],
      ["cluster { mode edge; }", /mode/],
      ["dvr { dvr_path ./x.avi; }", /ending in \.flv or \.mp4/],
      ["transcode a/b/c { }", /APP or APP\/STREAM/],
      ["transcode { engine { } engine { } }", /a second engine without a name/],
      ["ingest x { enabled on; }", /without input \{ url; \}/],
      ["ingest x { input { type tcp; } }", /type/],
    ] as const) {
      expect(() => load(`vhost a { ${body} }`), body).toThrow(what);
    }
  });
});

describe("SRS's own sample configs' shapes", () => {
  it("reads an ingest without a name (SRS's ingest.rtsp.conf) and names it", () => {
    const { config } = load(
      "vhost a { ingest { enabled on; input { type stream; url rtsp://cam/x; } engine { enabled off; output rtmp://127.0.0.1:[port]/live/cam; } } ingest { enabled off; } }",
    );
    expect(config.vhosts.get("a")!.ingests.map((g) => g.name)).toEqual(["ingest1", "ingest2"]);
    expect(config.vhosts.get("a")!.ingests[0]).not.toHaveProperty("unnamed");
  });

  it("reads a transcode engine without a name (SRS's full.conf), and refuses a second one", () => {
    const { config } = load("vhost a { transcode live { enabled on; engine { enabled off; } } }");
    expect(config.vhosts.get("a")!.transcodes[0]!.engines.map((e) => e.name)).toEqual([""]);
    expect(() => load("vhost a { transcode live { engine { } engine { } } }")).toThrow(/a second engine without a name/);
  });

  it("loads an HTTP-TS/AAC/MP3 mount with a warning and leaves that vhost's http_remux off", () => {
    const { config, warnings } = load("vhost a { http_remux { enabled on; mount [vhost]/[app]/[stream].ts; } }");
    expect(config.vhosts.get("a")!.httpRemux).toMatchObject({ enabled: false, mount: "[vhost]/[app]/[stream].flv" });
    expect(messages(warnings)).toEqual([expect.stringMatching(/asks for HTTP-TS streaming, which Sluice does not serve .*http_remux is off for this vhost/)]);
    expect(() => load("vhost a { http_remux { enabled on; mount [app]/[stream].mp4; } }")).toThrow(/ending in \.flv/);
  });
});

describe("bandcheck { }", () => {
  it("reads SRS 1's block with its defaults, and needs no warning", () => {
    const { config, warnings } = load('vhost a { bandcheck { enabled on; key "k1"; interval 5; limit_kbps 4000; } } vhost b { bandcheck { enabled on; } }');
    expect(warnings).toEqual([]);
    expect(config.vhosts.get("a")!.bandcheck).toEqual({ enabled: true, key: "k1", interval: 5, limitKbps: 4000 });
    expect(config.vhosts.get("b")!.bandcheck).toEqual({ enabled: true, key: "", interval: 30, limitKbps: 1000 });
    expect(() => load("vhost a { bandcheck { limit_kbps 0; } }")).toThrow(/limit_kbps/);
  });
});
