/**
 * `sluice-load` (bin/sluice-load.js -> build/Release/sluice_load) against the real server
 * with a looping ffmpeg publisher: every player plays every frame.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../support/fixtures.js";
import { REPO_ROOT, startServer, type RunningServer } from "../support/server.js";
import { publish, type Publisher } from "../support/clients.js";
import { collectLines, spawnTracked, tail } from "../support/procs.js";

interface LoadReport {
  players: { requested: number; started: number; playing: number; failed: number };
  failures: Record<string, number>;
  window: { start: number; end: number; seconds: number } | null;
  mbps: number;
  kbps: { min: number; median: number; max: number };
  fps: { min: number; median: number; max: number };
  firstMediaMs: { median: number; p95: number; max: number };
  framesLost: number;
  perPlayer: Array<{ video: number; audio: number; framesLost: number; failure: string | null }>;
}

describe("sluice-load against the server", () => {
  let server: RunningServer;
  let pub: Publisher;
  let tmp: string;

  beforeAll(async () => {
    const media = await testMedia("h264-aac");
    tmp = await mkdtemp(path.join(os.tmpdir(), "sluice-load-e2e-"));
    server = await startServer();
    pub = publish(media, server.url("live", "load"), { loop: true });
    await pub.ready;
  });

  afterAll(async () => {
    await pub?.stop();
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("plays 20 players at 25 fps with no failure and no frame lost", async () => {
    const json = path.join(tmp, "load.json");
    const args = [path.join(REPO_ROOT, "bin", "sluice-load.js"), "-u", server.url("live", "load"), "-c", "20", "-r", "100", "-d", "5", "--json", json];
    const entry = spawnTracked(process.execPath, args, { cwd: REPO_ROOT, name: "sluice-load" });
    const lines: string[] = [];
    entry.logs = lines;
    collectLines(entry.proc.stdout, lines);
    collectLines(entry.proc.stderr, lines);
    await entry.exited;
    expect(entry.proc.exitCode, tail(lines, 40)).toBe(0);

    // The once-a-second line, then the summary.
    expect(lines.some((l) => /^\[t=\d+s\] connected=20 playing=20 failed=0 Mbps=[\d.]+ \(recv\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /players\s+20 requested, 20 started, 20 playing at the end, 0 failed/.test(l))).toBe(true);

    const r = JSON.parse(await readFile(json, "utf8")) as LoadReport;
    expect(r.players).toEqual({ requested: 20, started: 20, playing: 20, failed: 0 });
    expect(r.failures).toEqual({});
    expect(r.window!.seconds).toBeCloseTo(5, 1);
    expect(r.fps.min).toBeGreaterThanOrEqual(24);
    expect(r.fps.max).toBeLessThanOrEqual(26);
    expect(r.kbps.min).toBeGreaterThan(0);
    expect(r.mbps).toBeGreaterThan(0);
    expect(r.framesLost).toBe(0);
    expect(r.firstMediaMs.max).toBeLessThan(5000);
    expect(r.perPlayer).toHaveLength(20);
    for (const p of r.perPlayer) {
      expect(p.failure).toBeNull();
      expect(p.video).toBeGreaterThan(5 * 25 * 0.9);
      expect(p.audio).toBeGreaterThan(5 * 43 * 0.9);
    }
  });
});
