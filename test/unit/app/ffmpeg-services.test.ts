import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfigText, type SluiceConfig } from "../../../src/conf/config.js";
import { log } from "../../../src/core/logger.js";
import { FfmpegSupervisor } from "../../../src/app/ffmpeg-supervisor.js";
import { IngestService, ingestSpecs } from "../../../src/app/ingest-service.js";
import { matchingTranscodes, TranscodeService, transcodePlans } from "../../../src/app/transcode-service.js";
import type { PublishContext } from "../../../src/app/stream-observer.js";
import type { FfmpegProcess } from "../../../src/outputs/ffmpeg/ffmpeg-command.js";
import type { Source } from "../../../src/stream/source.js";

function config(body: string): SluiceConfig {
  return parseConfigText(`listen 19350;\nff_log_dir /var/log/ff;\n${body}`, "x.conf").config;
}

const SD = "engine sd { enabled on; vcodec libx264; vwidth 160; vheight 120; acodec aac; output rtmp://127.0.0.1:[port]/[app]?vhost=[vhost]/[stream]_[engine]; }";

class FakeProcess extends EventEmitter {
  static nextPid = 5000;
  readonly pid = FakeProcess.nextPid++;
  readonly tail: string[] = [];
  exited = false;
  kill(): void {
    if (this.exited) return;
    this.exited = true;
    this.emit("exit", null, "SIGTERM", undefined);
  }
}

/** A supervisor whose children are fakes; `args` of every spawn, in order. */
function fakeSupervisor(): { sup: FfmpegSupervisor; spawned: string[][] } {
  const spawned: string[][] = [];
  const sup = new FfmpegSupervisor({
    spawn: (_bin, args) => {
      spawned.push([...args]);
      return new FakeProcess() as unknown as FfmpegProcess;
    },
  });
  return { sup, spawned };
}

const source = (vhost: string, app: string, stream: string): Source => ({ vhost, app, stream, key: `${vhost}/${app}/${stream}` }) as Source;
const ctx = (param = ""): PublishContext => ({ close: () => {}, client: {} as PublishContext["client"], stream: { stream: "", param } });
const settle = () => new Promise((r) => setTimeout(r, 20));

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(log, "warn").mockImplementation((_c, m) => void warnings.push(m));
  vi.spyOn(log, "trace").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("transcode plans", () => {
  it("applies the first block of each scope: the vhost's, the app's and the stream's", () => {
    const c = config(`vhost v { transcode { enabled on; } transcode live { enabled on; } transcode live { enabled on; ffmpeg /second; } transcode live/cam { enabled on; } transcode other { enabled on; } transcode live/x { enabled off; } }`);
    const v = c.vhosts.get("v")!;
    expect(matchingTranscodes(v, "live", "cam").map((t) => t.scope)).toEqual(["", "live", "live/cam"]);
    expect(matchingTranscodes(v, "live", "cam")[1]!.ffmpeg).not.toBe("/second");
    expect(matchingTranscodes(v, "live", "x").map((t) => t.scope)).toEqual(["", "live"]);
  });

  it("plays the stream from this server and fills the output template", () => {
    const c = config(`vhost v { transcode live { enabled on; ffmpeg /usr/bin/ffmpeg; ${SD} engine off { enabled off; vcodec copy; acodec copy; output x; } } }`);
    const plans = transcodePlans(c, c.vhosts.get("v")!, "live", "cam", "?k=1");
    expect(plans).toHaveLength(1);
    const { spec, outputKey } = plans[0]!;
    expect(spec).toMatchObject({ id: "transcode/v/live/cam/sd", kind: "transcode", binary: "/usr/bin/ffmpeg", logFile: "/var/log/ff/ffmpeg-encoder-v-live-cam-sd.log" });
    expect(spec.args).toContain("rtmp://127.0.0.1:19350/live?vhost=v/cam");
    expect(spec.args.at(-1)).toBe("rtmp://127.0.0.1:19350/live?vhost=v/cam_sd");
    expect(outputKey).toBe("v/live/cam_sd");
  });

  it("refuses an engine whose output is its own input, with a warning", () => {
    const c = config(`vhost v { transcode live { enabled on; engine loop { enabled on; vcodec copy; acodec copy; output rtmp://localhost:[port]/[app]/[stream]?vhost=[vhost]; } } }`);
    expect(transcodePlans(c, c.vhosts.get("v")!, "live", "cam", "")).toEqual([]);
    expect(warnings.join("\n")).toMatch(/transcode v\/live\/cam engine loop .*refused: its output rtmp:\/\/localhost:19350\/live\/cam\?vhost=v is its own input stream \(a loop\)/);
  });

  it("refuses an engine that cannot run, saying why", () => {
    const c = config(`vhost v { transcode live { enabled on; engine nocodec { enabled on; output rtmp://h/[app]/[stream]_x; } } }`);
    expect(transcodePlans(c, c.vhosts.get("v")!, "live", "cam", "")).toEqual([]);
    expect(warnings.join("\n")).toMatch(/engine nocodec.*no vcodec/);
  });
});

describe("TranscodeService", () => {
  it("starts an engine per publish, stops it on unpublish", async () => {
    const { sup, spawned } = fakeSupervisor();
    const c = config(`vhost __defaultVhost__ { transcode live { enabled on; ${SD} } }`);
    const t = new TranscodeService(sup, c);
    const cam = source("__defaultVhost__", "live", "cam");
    t.published(cam, c.vhosts.get("__defaultVhost__")!, ctx());
    await settle();
    expect(spawned).toHaveLength(1);
    expect(sup.ids()).toEqual(["transcode/__defaultVhost__/live/cam/sd"]);
    t.unpublished(cam);
    await settle();
    expect(sup.ids()).toEqual([]);
  });

  it("does not transcode a stream its own transcoder publishes (x -> x_sd, never x_sd_sd)", async () => {
    const { sup, spawned } = fakeSupervisor();
    const c = config(`vhost __defaultVhost__ { transcode live { enabled on; ${SD} } }`);
    const t = new TranscodeService(sup, c);
    const v = c.vhosts.get("__defaultVhost__")!;
    const cam = source("__defaultVhost__", "live", "cam");
    t.published(cam, v, ctx());
    await settle();
    t.published(source("__defaultVhost__", "live", "cam_sd"), v, ctx());
    await settle();
    expect(spawned).toHaveLength(1);
    expect(t.producerOf("__defaultVhost__", "live", "cam_sd")).toBe("transcode/__defaultVhost__/live/cam/sd");
    // Once the transcoder is gone, a publish of that name is an ordinary stream again.
    t.unpublished(cam);
    await settle();
    expect(t.producerOf("__defaultVhost__", "live", "cam_sd")).toBeUndefined();
  });

  it("catches a stream coming back from another server under the name it was sent as", async () => {
    const { sup, spawned } = fakeSupervisor();
    const c = config(`vhost __defaultVhost__ { transcode live { enabled on; engine up { enabled on; vcodec copy; acodec copy; output rtmp://other.example.com/[app]/[stream]_up; } } }`);
    const t = new TranscodeService(sup, c);
    const v = c.vhosts.get("__defaultVhost__")!;
    t.published(source("__defaultVhost__", "live", "cam"), v, ctx());
    await settle();
    t.published(source("__defaultVhost__", "live", "cam_up"), v, ctx());
    await settle();
    expect(spawned).toHaveLength(1);
  });

  it("starts engines for a stream already published when a reload adds its transcode block", async () => {
    const { sup } = fakeSupervisor();
    const c1 = config(`vhost __defaultVhost__ { }`);
    const t = new TranscodeService(sup, c1);
    t.published(source("__defaultVhost__", "live", "cam"), c1.vhosts.get("__defaultVhost__")!, ctx());
    await settle();
    expect(sup.ids()).toEqual([]);
    t.reload(config(`vhost __defaultVhost__ { transcode live { enabled on; ${SD} } }`));
    await settle();
    expect(sup.ids()).toEqual(["transcode/__defaultVhost__/live/cam/sd"]);
    await t.stop();
  });

  it("follows a reload: an engine added starts, an engine removed stops", async () => {
    const { sup } = fakeSupervisor();
    const c1 = config(`vhost __defaultVhost__ { transcode live { enabled on; ${SD} } }`);
    const t = new TranscodeService(sup, c1);
    t.published(source("__defaultVhost__", "live", "cam"), c1.vhosts.get("__defaultVhost__")!, ctx());
    await settle();
    t.reload(config(`vhost __defaultVhost__ { transcode live { enabled on; ${SD.replace("engine sd", "engine hd")} } }`));
    await settle();
    expect(sup.ids()).toEqual(["transcode/__defaultVhost__/live/cam/hd"]);
    await t.stop();
    expect(sup.ids()).toEqual([]);
  });
});

describe("ingest", () => {
  const INGEST = (name: string, extra = "") =>
    `ingest ${name} { enabled on; input { type file; url ./media/${name}.flv; } ffmpeg /usr/bin/ffmpeg; engine { enabled off; output rtmp://127.0.0.1:[port]/live/${name}?vhost=[vhost]; } ${extra} }`;

  it("loops a file at its own pace and copies it when the engine is off", () => {
    const c = config(`vhost __defaultVhost__ { ${INGEST("a")} }`);
    const [spec] = ingestSpecs(c, "__defaultVhost__", c.vhosts.get("__defaultVhost__")!.ingests[0]!);
    expect(spec!.args).toEqual(["-nostdin", "-loglevel", "info", "-re", "-stream_loop", "-1", "-i", "./media/a.flv", "-acodec", "copy", "-vcodec", "copy", "-f", "flv", "rtmp://127.0.0.1:19350/live/a"]);
    expect(spec).toMatchObject({ id: "ingest/__defaultVhost__/a/0", kind: "ingest", name: "__defaultVhost__/a", logFile: "/var/log/ff/ffmpeg-ingest-__defaultVhost__-live-a.log" });
  });

  it("reads a stream with -re and transcodes with an enabled engine", () => {
    const c = config(
      `vhost v { ingest cam { enabled on; input { type stream; url rtsp://cam/x; } engine { enabled on; perfile { rtsp_transport tcp; } vcodec libx264; vbitrate 500; acodec aac; output rtmp://127.0.0.1:[port]/live/cam?vhost=[vhost]; } } }`,
    );
    const [spec] = ingestSpecs(c, "v", c.vhosts.get("v")!.ingests[0]!);
    expect(spec!.args.slice(0, 8)).toEqual(["-nostdin", "-loglevel", "info", "-re", "-rtsp_transport", "tcp", "-i", "rtsp://cam/x"]);
    expect(spec!.args).toContain("libx264");
    expect(spec!.args.at(-1)).toBe("rtmp://127.0.0.1:19350/live/cam?vhost=v");
  });

  it("passes ff_log_level to ffmpeg as -loglevel, and a change restarts the child", () => {
    const text = (level: string) => `ff_log_level ${level};\nvhost __defaultVhost__ { ${INGEST("a")} }`;
    const quiet = config(text("warning"));
    const [spec] = ingestSpecs(quiet, "__defaultVhost__", quiet.vhosts.get("__defaultVhost__")!.ingests[0]!);
    expect(spec!.args.slice(0, 3)).toEqual(["-nostdin", "-loglevel", "warning"]);
    const loud = config(text("debug"));
    const [other] = ingestSpecs(loud, "__defaultVhost__", loud.vhosts.get("__defaultVhost__")!.ingests[0]!);
    expect(other!.fingerprint).not.toBe(spec!.fingerprint);
    expect(() => config(text("chatty"))).toThrow(/ff_log_level.*(quiet|info)/);
  });

  it("refuses an ingest with no engine, and one that reads the stream it publishes", () => {
    const c = config(
      `vhost v { ingest none { enabled on; input { type stream; url rtsp://x; } } ingest self { enabled on; input { type stream; url rtmp://127.0.0.1:19350/live/self?vhost=v; } engine { output rtmp://127.0.0.1:[port]/live/self?vhost=[vhost]; } } }`,
    );
    const v = c.vhosts.get("v")!;
    expect(ingestSpecs(c, "v", v.ingests[0]!)).toEqual([]);
    expect(ingestSpecs(c, "v", v.ingests[1]!)).toEqual([]);
    expect(warnings.join("\n")).toMatch(/ingest v\/none .*no engine/);
    expect(warnings.join("\n")).toMatch(/ingest v\/self .*reads rtmp:\/\/127.0.0.1:19350\/live\/self\?vhost=v, the stream it publishes \(a loop\)/);
  });

  it("starts every enabled ingest at start, and a reload removes, adds and restarts changed ones", async () => {
    const { sup, spawned } = fakeSupervisor();
    const ing = new IngestService(sup, config(`vhost __defaultVhost__ { ${INGEST("a")} ${INGEST("b")} ingest off { enabled off; } }\nvhost gone { enabled off; ${INGEST("c")} }`));
    ing.reload(config(`vhost __defaultVhost__ { ${INGEST("a")} ${INGEST("b")} }`)); // before start: nothing runs
    await settle();
    expect(spawned).toHaveLength(0);
    ing.start();
    await settle();
    expect(sup.ids().sort()).toEqual(["ingest/__defaultVhost__/a/0", "ingest/__defaultVhost__/b/0"]);
    const pidOfA = sup.children().find((c) => c.id.endsWith("/a/0"))!.pid;

    ing.reload(config(`vhost __defaultVhost__ { ${INGEST("a")} ${INGEST("d")} }`));
    await settle();
    expect(sup.ids().sort()).toEqual(["ingest/__defaultVhost__/a/0", "ingest/__defaultVhost__/d/0"]);
    expect(sup.children().find((c) => c.id.endsWith("/a/0"))!.pid).toBe(pidOfA); // unchanged: kept

    ing.reload(config(`vhost __defaultVhost__ { ${INGEST("a").replace("./media/a.flv", "./media/a2.flv")} ${INGEST("d")} }`));
    await settle();
    expect(sup.children().find((c) => c.id.endsWith("/a/0"))!.pid).not.toBe(pidOfA);
    await ing.stop();
    expect(sup.ids()).toEqual([]);
  });
});
