/**
 * What the micro benchmarks share: the tinybench settings, a batched task for calls too short
 * for the timer, the row every benchmark returns, and the repository root.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Bench, type FnReturnedObject, type Task } from "tinybench";

/** Measured time per task (ms); warmup runs before it and is not counted. */
export const TASK_TIME_MS = 500;
export const WARMUP_TIME_MS = 200;

/** One line of the results: our figure beside the peer's, from the same run. */
export interface MicroRow {
  /** What is measured, e.g. "chunk decode: 2.5 Mbps stream, chunk size 4096, 64 KiB reads". */
  name: string;
  /** The quantity `ours` and `theirs` are in: MB/s (10^6 bytes) or operations per second. */
  unit: "MB/s" | "ops/s";
  /** Our figure (mean over the samples). */
  ours: number;
  /** The peer's figure, or null when the peer has no such function (see `note`). */
  theirs: number | null;
  /** ours / theirs: above 1 means we are faster. */
  ratioToPeer: number | null;
  /** Our operations per second (for MB/s rows: whole inputs per second). */
  opsPerSec: number;
  /** MB/s for the byte-stream rows. */
  MBps?: number;
  /** Relative margins of error (95 %, percent of the mean) of the two figures. */
  oursRme: number;
  theirsRme: number | null;
  /** The peer's code that was run, e.g. "node-media-server 2.7.4 NodeRtmpSession#onSocketData". */
  peer: string;
  note?: string;
}

/** A Bench with the settings every micro benchmark uses. */
export function newBench(name: string): Bench {
  return new Bench({
    name,
    time: TASK_TIME_MS,
    warmupTime: WARMUP_TIME_MS,
    iterations: 16,
    warmupIterations: 8,
    throws: true,
  });
}

/**
 * Adds a task whose every sample runs `fn` `inner` times and records the mean per call, so a
 * call of a microsecond is not measured by a timer read that costs about as much.
 */
export function addBatched(bench: Bench, name: string, inner: number, fn: () => void): void {
  bench.add(
    name,
    (): FnReturnedObject => {
      const start = bench.now();
      for (let i = 0; i < inner; i++) fn();
      const elapsed = bench.now() - start;
      return { overriddenDuration: elapsed / inner, overriddenIterationCost: elapsed };
    },
    { async: false },
  );
}

export interface Measured {
  /** Mean latency per call, ms. */
  meanMs: number;
  opsPerSec: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
}

export function measured(bench: Bench, name: string): Measured {
  const task: Task | undefined = bench.getTask(name);
  if (!task) throw new Error(`no task "${name}" in bench "${bench.name ?? ""}"`);
  const r = task.result;
  if (r.state !== "completed" && r.state !== "aborted-with-statistics") {
    const why = r.state === "errored" ? r.error.message : r.state;
    throw new Error(`task "${name}" did not complete: ${why}`);
  }
  return { meanMs: r.latency.mean, opsPerSec: 1000 / r.latency.mean, rme: r.latency.rme };
}

/** A row in operations per second; `theirs` null when the peer has nothing to compare. */
export function opsRow(
  name: string,
  ours: Measured,
  theirs: Measured | null,
  peer: string,
  note?: string,
): MicroRow {
  return {
    name,
    unit: "ops/s",
    ours: ours.opsPerSec,
    theirs: theirs ? theirs.opsPerSec : null,
    ratioToPeer: theirs ? ours.opsPerSec / theirs.opsPerSec : null,
    opsPerSec: ours.opsPerSec,
    oursRme: ours.rme,
    theirsRme: theirs ? theirs.rme : null,
    peer,
    ...(note !== undefined ? { note } : {}),
  };
}

/** A row in MB/s for an input of `bytes` bytes processed once per call. */
export function mbpsRow(
  name: string,
  bytes: number,
  ours: Measured,
  theirs: Measured | null,
  peer: string,
  note?: string,
): MicroRow {
  const mbps = (m: Measured): number => (bytes * m.opsPerSec) / 1e6;
  return {
    name,
    unit: "MB/s",
    ours: mbps(ours),
    theirs: theirs ? mbps(theirs) : null,
    ratioToPeer: theirs ? ours.opsPerSec / theirs.opsPerSec : null,
    opsPerSec: ours.opsPerSec,
    MBps: mbps(ours),
    oursRme: ours.rme,
    theirsRme: theirs ? theirs.rme : null,
    peer,
    ...(note !== undefined ? { note } : {}),
  };
}

/** The repository root: the nearest directory above this file with a package.json. */
export function repoRoot(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
}

/** Throws unless `cond`: the benchmarks check that both sides did the same work. */
export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`);
}
