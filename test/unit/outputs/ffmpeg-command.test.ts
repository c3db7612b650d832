import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfigText, type TranscodeEngine } from "../../../src/conf/config.js";
import {
  buildFfmpegCommand,
  commandLine,
  ffmpegArguments,
  jobProblem,
  optionArgs,
  resolveFfmpegBinary,
  spawnFfmpeg,
  type FfmpegProcess,
} from "../../../src/outputs/ffmpeg/ffmpeg-command.js";

/** The first engine of `transcode live { ... }` in a vhost, as the config reads it. */
function engine(body: string): TranscodeEngine {
  const { config } = parseConfigText(`vhost v { transcode live { enabled on; engine e { enabled on; ${body} } } }`, "x.conf");
  return config.vhosts.get("v")!.transcodes[0]!.engines[0]!;
}

const IN = "rtmp://127.0.0.1:1935/live?vhost=v/cam";
const OUT = "rtmp://127.0.0.1:1935/live?vhost=v/cam_e";

function args(body: string, extra: { input?: string; copy?: boolean; inputOptions?: string[] } = {}): string[] {
  return ffmpegArguments({ input: extra.input ?? IN, engine: engine(body), output: OUT, copy: extra.copy, inputOptions: extra.inputOptions });
}

/** The value after `flag`, or undefined. */
function after(a: string[], flag: string): string | undefined {
  const i = a.indexOf(flag);
  return i < 0 ? undefined : a[i + 1];
}

describe("ffmpeg command from a transcode engine (SRS's SrsFFMPEG)", () => {
  it("is built by fluent-ffmpeg: one command object with the input and the output", () => {
    const cmd = buildFfmpegCommand({ input: IN, engine: engine("vcodec libx264; acodec aac;"), output: OUT });
    expect(cmd._getArguments().map(String)).toEqual(args("vcodec libx264; acodec aac;"));
  });

  it("puts every video option of the engine on the command line", () => {
    const a = args("vcodec libx264; vbitrate 300; vfps 25; vwidth 768; vheight 320; vthreads 4; vprofile main; vpreset superfast; acodec aac;");
    expect(after(a, "-vcodec")).toBe("libx264");
    expect(after(a, "-b:v")).toBe("300k"); // kbps, as SRS's 300000
    expect(after(a, "-r")).toBe("25");
    expect(after(a, "-s")).toBe("768x320");
    expect(after(a, "-aspect")).toBe("768:320");
    expect(after(a, "-threads")).toBe("4");
    expect(after(a, "-profile:v")).toBe("main");
    expect(after(a, "-preset")).toBe("superfast");
  });

  it("puts every audio option of the engine on the command line", () => {
    const a = args("vcodec libx264; acodec libfdk_aac; abitrate 45; asample_rate 44100; achannels 2;");
    expect(after(a, "-acodec")).toBe("libfdk_aac");
    expect(after(a, "-b:a")).toBe("45k");
    expect(after(a, "-ar")).toBe("44100");
    expect(after(a, "-ac")).toBe("2");
  });

  it("reads the input first with -f flv for rtmp://, then writes -f flv to the output last", () => {
    const a = args("vcodec libx264; acodec aac;");
    expect(a.slice(0, 5)).toEqual(["-nostdin", "-f", "flv", "-i", IN]);
    expect(a.slice(-3)).toEqual(["-f", "flv", OUT]);
  });

  it("names no input format for a file or another protocol, and none with iformat off", () => {
    expect(args("vcodec libx264; acodec aac;", { input: "/media/a.mp4" }).slice(0, 3)).toEqual(["-nostdin", "-i", "/media/a.mp4"]);
    expect(args("iformat off; vcodec libx264; acodec aac;").slice(0, 3)).toEqual(["-nostdin", "-i", IN]);
    expect(after(args("iformat live_flv; vcodec libx264; acodec aac;"), "-f")).toBe("live_flv");
  });

  it("uses the engine's oformat, none with oformat off", () => {
    expect(args("vcodec png; acodec an; oformat image2;").slice(-3)).toEqual(["-f", "image2", OUT]);
    const off = args("vcodec libx264; acodec aac; oformat off;");
    expect(off.filter((x) => x === "-f")).toHaveLength(1); // the input's only
    expect(off.at(-2)).not.toBe("flv");
  });

  it("copy leaves out every encoder option (vcodec copy; acodec copy)", () => {
    const a = args("vcodec copy; vbitrate 300; vwidth 320; vheight 240; vparams { bf 3; } acodec copy; abitrate 45; aparams { profile:a aac_low; }");
    expect(after(a, "-vcodec")).toBe("copy");
    expect(after(a, "-acodec")).toBe("copy");
    for (const f of ["-b:v", "-s", "-bf", "-b:a", "-profile:a"]) expect(a).not.toContain(f);
  });

  it("keeps only bsf:a aac_adtstoasc of aparams when audio is copied", () => {
    const a = args("vcodec libx264; acodec copy; aparams { profile:a aac_low; bsf:a aac_adtstoasc; }");
    expect(after(a, "-bsf:a")).toBe("aac_adtstoasc");
    expect(a).not.toContain("-profile:a");
  });

  it("vn drops video and an drops audio, with their options", () => {
    const vn = args("vcodec vn; vbitrate 300; acodec aac; abitrate 45;");
    expect(vn).toContain("-vn");
    expect(vn).not.toContain("-vcodec");
    expect(vn).not.toContain("-b:v");
    expect(after(vn, "-b:a")).toBe("45k");
    const an = args("vcodec libx264; acodec an; abitrate 45;");
    expect(an).toContain("-an");
    expect(an).not.toContain("-acodec");
    expect(an).not.toContain("-b:a");
  });

  it("a copy job (an ingest whose engine is off) copies both streams whatever the engine says", () => {
    const a = args("vcodec libx264; vbitrate 300; acodec aac; perfile { rtsp_transport tcp; }", { copy: true, input: "rtsp://cam/x", inputOptions: ["-re"] });
    expect(a).toEqual(["-nostdin", "-re", "-i", "rtsp://cam/x", "-acodec", "copy", "-vcodec", "copy", "-f", "flv", OUT]);
  });

  it("turns a vfilter logo into a second input and the overlay into -filter_complex", () => {
    const a = args("vfilter { i ./doc/ffmpeg-logo.png; filter_complex 'overlay=10:10'; } vcodec libx264; acodec aac;");
    const inputs = a.flatMap((x, i) => (x === "-i" ? [a[i + 1]] : []));
    expect(inputs).toEqual([IN, "./doc/ffmpeg-logo.png"]);
    expect(after(a, "-filter_complex")).toBe("overlay=10:10");
    // The overlay is an output option: after both inputs.
    expect(a.indexOf("-filter_complex")).toBeGreaterThan(a.lastIndexOf("-i"));
  });

  it("gives a vfilter input the options written before it, and keeps -vf values whole", () => {
    const a = args("vfilter { loop 1; i logo.png; vf 'split [main][tmp]; [tmp] crop=iw:ih/2:0:0, vflip [flip]; [main][flip] overlay=0:H/2'; } vcodec libx264; acodec aac;");
    const logo = a.indexOf("logo.png");
    expect(a.slice(logo - 3, logo + 1)).toEqual(["-loop", "1", "-i", "logo.png"]);
    expect(after(a, "-vf")).toBe("split [main][tmp]; [tmp] crop=iw:ih/2:0:0, vflip [flip]; [main][flip] overlay=0:H/2");
  });

  it("passes vparams and aparams through, with a dash added to each name", () => {
    const a = args("vcodec libx264; vparams { t 100; coder 1; -bf 3; refs 10; } acodec aac; aparams { profile:a aac_low; }");
    expect(after(a, "-t")).toBe("100");
    expect(after(a, "-coder")).toBe("1");
    expect(after(a, "-bf")).toBe("3");
    expect(after(a, "-refs")).toBe("10");
    expect(after(a, "-profile:a")).toBe("aac_low");
  });

  it("puts perfile before the input, and flags without a value alone", () => {
    const a = args("perfile { re; rtsp_transport tcp; } vcodec libx264; acodec aac;");
    expect(a.slice(0, 7)).toEqual(["-nostdin", "-re", "-rtsp_transport", "tcp", "-f", "flv", "-i"]);
  });

  it("puts an ingest's -re -stream_loop -1 first, before perfile", () => {
    const a = args("perfile { fflags +genpts; } vcodec libx264; acodec aac;", { input: "./a.flv", inputOptions: ["-re", "-stream_loop", "-1"] });
    expect(a.slice(0, 8)).toEqual(["-nostdin", "-re", "-stream_loop", "-1", "-fflags", "+genpts", "-i", "./a.flv"]);
  });

  it("keeps sizes even and gives no size unless both are set", () => {
    expect(after(args("vcodec libx264; vwidth 161; vheight 121; acodec aac;"), "-s")).toBe("160x120");
    expect(args("vcodec libx264; vwidth 160; acodec aac;")).not.toContain("-s");
  });

  it("says why a job cannot run", () => {
    const job = (body: string) => ({ input: IN, engine: engine(body), output: OUT });
    expect(jobProblem(job("vcodec libx264; acodec aac;"))).toBeNull();
    expect(jobProblem(job("vcodec vn; acodec an;"))).toMatch(/both disabled/);
    expect(jobProblem(job("acodec aac;"))).toMatch(/no vcodec/);
    expect(jobProblem(job("vcodec copy;"))).toMatch(/no acodec/);
    expect(jobProblem({ ...job("vcodec copy; acodec copy;"), output: "" })).toMatch(/empty output/);
    expect(jobProblem({ input: IN, engine: null, output: OUT })).toBeNull();
  });

  it("option blocks: a dash unless there is one, no value when empty", () => {
    expect(optionArgs([["re", ""], ["-x", "1"], ["filter_complex", "a b"]])).toEqual(["-re", "-x", "1", "-filter_complex", "a b"]);
  });

  it("quotes what a shell would split in the logged command line", () => {
    expect(commandLine("ffmpeg", ["-i", "rtmp://h/live?vhost=v/x", "-vf", "a b", "-y", ""])).toBe(`ffmpeg -i 'rtmp://h/live?vhost=v/x' -vf 'a b' -y ''`);
  });

  it("runs ffmpeg from PATH when SRS's default binary is missing, and a named one as it is", () => {
    expect(resolveFfmpegBinary("./objs/ffmpeg/bin/ffmpeg")).toBe("ffmpeg");
    expect(resolveFfmpegBinary("/opt/ffmpeg/bin/ffmpeg")).toBe("/opt/ffmpeg/bin/ffmpeg");
  });
});

describe("spawnFfmpeg", () => {
  const ended = (p: FfmpegProcess) =>
    new Promise<{ code: number | null; signal: string | null }>((resolve) => p.once("exit", (code, signal) => resolve({ code, signal })));

  it("runs ffmpeg, appends its stderr to the log file, and reports lines and the exit", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-ffcmd-"));
    try {
      const file = path.join(dir, "ffmpeg-x.log");
      const lines: string[] = [];
      const p = spawnFfmpeg("ffmpeg", ["-hide_banner", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5", "-frames:v", "2", "-f", "null", "-"], { logFile: file });
      p.on("line", (l) => lines.push(l));
      expect(p.pid).toBeGreaterThan(0);
      expect(await ended(p)).toEqual({ code: 0, signal: null });
      expect(p.exited).toBe(true);
      expect(lines.some((l) => /^Output #0, null/.test(l))).toBe(true);
      expect(p.tail.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 50)); // the file stream's last write
      expect(await readFile(file, "utf8")).toMatch(/Output #0, null/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops a running ffmpeg with a signal", async () => {
    const p = spawnFfmpeg("ffmpeg", ["-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5", "-f", "null", "-"], { logFile: null });
    await new Promise((r) => p.once("line", r));
    p.kill("SIGKILL");
    expect(await ended(p)).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("reports a binary that does not exist as an exit, not a throw", async () => {
    const p = spawnFfmpeg("/nonexistent/ffmpeg", ["-version"], { logFile: null });
    const r = await ended(p);
    // Through setpriv: its exit code 127; without it: a spawn error (code null).
    expect(r.code === 127 || r.code === null).toBe(true);
  });
});
