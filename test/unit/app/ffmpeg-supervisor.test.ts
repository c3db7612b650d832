import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF, ffmpegLogFile, FfmpegSupervisor, type FfmpegChildSpec } from "../../../src/app/ffmpeg-supervisor.js";
import { log } from "../../../src/core/logger.js";
import type { FfmpegProcess } from "../../../src/outputs/ffmpeg/ffmpeg-command.js";

/** A stand-in for a running ffmpeg: records signals, exits when told. */
class FakeProcess extends EventEmitter {
  static nextPid = 1000;
  readonly pid = FakeProcess.nextPid++;
  readonly tail: string[] = [];
  readonly signals: string[] = [];
  exited = false;
  /** Exits on SIGTERM unless stubborn. */
  constructor(private readonly stubborn: boolean) {
    super();
  }
  kill(signal = "SIGTERM"): void {
    this.signals.push(signal);
    if (signal === "SIGKILL" || !this.stubborn) this.exit(null, signal);
  }
  exit(code: number | null, signal: string | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.emit("exit", code, signal, undefined);
  }
}

function spec(id = "ingest/v/a/0", fingerprint = "f1"): FfmpegChildSpec {
  return { id, kind: "ingest", name: id, binary: "ffmpeg", args: ["-i", "x"], logFile: null, fingerprint };
}

describe("backoff", () => {
  it("doubles from 1 s and stops at 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 500, resetAfterMs: 1 })).toBe(500);
  });
});

describe("ff_log_dir", () => {
  it("names a child's log file as SRS does, and none with /dev/null", () => {
    expect(ffmpegLogFile("./objs", ["encoder", "__defaultVhost__", "live", "cam", "sd"])).toBe("objs/ffmpeg-encoder-__defaultVhost__-live-cam-sd.log");
    expect(ffmpegLogFile("/var/log/sluice", ["ingest", "v", "live", "a b/c"])).toBe("/var/log/sluice/ffmpeg-ingest-v-live-a_b_c.log");
    expect(ffmpegLogFile("/dev/null", ["ingest", "v"])).toBeNull();
  });
});

describe("FfmpegSupervisor", () => {
  let procs: FakeProcess[];
  let stubborn: boolean;
  let sup: FfmpegSupervisor;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(log, "warn").mockImplementation(() => {});
    vi.spyOn(log, "trace").mockImplementation(() => {});
    procs = [];
    stubborn = false;
    sup = new FfmpegSupervisor({
      graceMs: 3000,
      spawn: () => {
        const p = new FakeProcess(stubborn);
        procs.push(p);
        return p as unknown as FfmpegProcess;
      },
    });
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("restarts a child that dies, after 1, 2, 4, 8 s, and lists it meanwhile", async () => {
    expect(await sup.ensure(spec())).toBe("started");
    expect(procs).toHaveLength(1);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      procs.at(-1)!.exit(1);
      expect(sup.children()[0]).toMatchObject({ state: "backoff", pid: null, restarts: i });
      const n = procs.length;
      let waited = 0;
      while (procs.length === n) {
        await vi.advanceTimersByTimeAsync(250);
        waited += 250;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(sup.children()[0]).toMatchObject({ id: "ingest/v/a/0", kind: "ingest", state: "running", pid: procs.at(-1)!.pid, restarts: 4, cmdline: "ffmpeg -i x" });
  });

  it("starts again from 1 s once a child has run for a while", async () => {
    await sup.ensure(spec());
    procs[0]!.exit(1);
    await vi.advanceTimersByTimeAsync(1000); // restart 1
    procs[1]!.exit(1);
    await vi.advanceTimersByTimeAsync(2000); // restart 2, after 2 s
    expect(procs).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.resetAfterMs);
    procs[2]!.exit(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(procs).toHaveLength(4);
  });

  it("stops with SIGTERM, and SIGKILL when the child does not end within the grace", async () => {
    await sup.ensure(spec());
    await sup.stop("ingest/v/a/0");
    expect(procs[0]!.signals).toEqual(["SIGTERM"]);
    expect(sup.children()).toEqual([]);

    stubborn = true;
    await sup.ensure(spec());
    let done = false;
    void sup.stop("ingest/v/a/0").then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2900);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toBe(true);
    expect(procs[1]!.signals).toEqual(["SIGTERM", "SIGKILL"]);
  });

  it("does not restart a child it stopped, nor one waiting when stopped", async () => {
    await sup.ensure(spec());
    procs[0]!.exit(1);
    await sup.stop("ingest/v/a/0");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(procs).toHaveLength(1);
  });

  it("keeps a child whose fingerprint is the same and replaces one whose fingerprint changed", async () => {
    await sup.ensure(spec());
    expect(await sup.ensure(spec())).toBe("kept");
    expect(await sup.ensure(spec("ingest/v/a/0", "f2"))).toBe("replaced");
    expect(procs).toHaveLength(2);
    expect(procs[0]!.signals).toEqual(["SIGTERM"]);
  });

  it("stops the children under a prefix only", async () => {
    await sup.ensure(spec("ingest/v/a/0"));
    await sup.ensure(spec("transcode/v/live/x/sd"));
    expect(sup.ids("ingest/")).toEqual(["ingest/v/a/0"]);
    await sup.stopAll("transcode/");
    expect(sup.ids()).toEqual(["ingest/v/a/0"]);
  });
});
