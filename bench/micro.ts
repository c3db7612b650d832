/**
 * Runs every micro benchmark (bench/micro/*.bench.ts), each beside what a Node user would
 * run instead (node-media-server, pinned in devDependencies), prints one markdown table of
 * ours, theirs and the ratio, and writes it with the raw figures to
 * bench/results/micro-<date>.md and .json.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/bench/micro.js
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { amf0Bench } from "./micro/amf0.bench.js";
import { chunkDecodeBench } from "./micro/chunk-decode.bench.js";
import { chunkEncodeBench } from "./micro/chunk-encode.bench.js";
import { TASK_TIME_MS, WARMUP_TIME_MS, repoRoot, type MicroRow } from "./micro/common.js";
import { handshakeBench } from "./micro/handshake.bench.js";
import { tsMuxBench } from "./micro/ts-mux.bench.js";
import { nmsVersion } from "./micro/nms.js";

const SUBJECTS: ReadonlyArray<[string, () => Promise<MicroRow[]>]> = [
  ["chunk decode", chunkDecodeBench],
  ["chunk encode", chunkEncodeBench],
  ["handshake", handshakeBench],
  ["AMF0", amf0Bench],
  ["TS mux", tsMuxBench],
];

function fmt(value: number | null, unit: MicroRow["unit"]): string {
  if (value === null) return "n/a";
  if (unit === "MB/s") return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US")} MB/s`;
  return `${Math.round(value).toLocaleString("en-US")} ops/s`;
}

function ratio(r: number | null): string {
  return r === null ? "n/a" : `${r.toFixed(r < 10 ? 2 : 1)}x`;
}

function markdown(rows: readonly MicroRow[], machine: string): string {
  const lines = [
    `Micro benchmarks, ${new Date().toISOString()}; ${machine}.`,
    `Theirs: ${nmsVersion}. Ratio = ours / theirs (above 1: we are faster). tinybench, ${TASK_TIME_MS} ms per task after ${WARMUP_TIME_MS} ms warmup; ± is the 95 % margin of error of the mean.`,
    "",
    "| subject | ours | theirs | ratio |",
    "|---|--:|--:|--:|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.ours, r.unit)} ±${r.oursRme.toFixed(1)}% | ${
          r.theirs === null ? "n/a" : `${fmt(r.theirs, r.unit)} ±${(r.theirsRme ?? 0).toFixed(1)}%`
        } | ${ratio(r.ratioToPeer)} |`,
    ),
    "",
    "Notes:",
    ...rows.map((r) => `- ${r.name}: theirs = ${r.peer}${r.note ? `; ${r.note}` : ""}.`),
  ];
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: MicroRow[] = [];
  for (const [name, run] of SUBJECTS) {
    const t = Date.now();
    process.stderr.write(`micro: ${name} ...`);
    rows.push(...(await run()));
    process.stderr.write(` ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const md = markdown(rows, machine);
  process.stdout.write("\n" + md);

  const date = new Date().toISOString().slice(0, 10);
  const dir = path.join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `micro-${date}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpu: cpus[0]?.model.trim() ?? null, cores: cpus.length, node: process.version, os: `${os.platform()} ${os.release()}` },
        peer: nmsVersion,
        tinybench: { timeMs: TASK_TIME_MS, warmupTimeMs: WARMUP_TIME_MS },
        rows,
      },
      null,
      2,
    ) + "\n",
  );
  process.stderr.write(
    `micro: wrote ${path.relative(process.cwd(), base)}.md and .json in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`\nmicro: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
