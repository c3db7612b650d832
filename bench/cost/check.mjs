#!/usr/bin/env node
/**
 * CI cost gate: instructions executed per MB by the publisher decode path and the player
 * fan-out path, counted by valgrind (callgrind), compared with bench/cost/baseline.json.
 * Instruction counts do not depend on the machine's load or clock, so the gate does not
 * flake on a busy shared runner the way a timing would.
 *
 *   node bench/cost/check.mjs             build dist/, measure, compare; exit 1 above +10 %
 *   node bench/cost/check.mjs --update    measure and rewrite the baseline
 *
 * Options: --no-build (use dist/ as it is), --runs N (measure N times, report the spread,
 * compare the median), --jobs N (valgrind processes at once; default 2), --tolerance P
 * (percent; default 10), --json FILE (write the results as JSON too).
 *
 * Each workload (bench/cost/workload.mjs) runs twice under callgrind: with its iteration
 * count and with 0 iterations (node's start-up, module loading, building the synthetic
 * stream); the difference is the cost of the measured loop, divided by the MB
 * (10^6 bytes) it decoded or delivered. Node runs with V8 flags that make it repeatable:
 * no background threads (compilation and GC on the main thread, in a fixed order), no
 * GC started from tasks or timers, fixed hash and random seeds, one libuv pool thread.
 * The JIT stays on.
 * Exit status: 0 pass, 1 regression (or workload changed without --update), 2 cannot run.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const baselinePath = path.join(here, "baseline.json");
const workloadPath = path.join(here, "workload.mjs");

/** Iterations of each workload's measured loop (see workload.mjs for what one is). */
const WORKLOADS = [
  { name: "decode", iterations: 20, unit: "MB decoded" },
  { name: "fanout", iterations: 2, unit: "MB delivered" },
];

/**
 * V8 flags for repeatable counts (all exist in Node 20's V8 11.3, `node --v8-options`):
 * --single-threaded: no background tasks: no concurrent Turbofan/Sparkplug compilation,
 *   no concurrent marking or sweeping, so compilation and GC work land on the main thread
 *   at the same points every run;
 * --predictable, --predictable-gc-schedule: no memory reducer, fixed heap growing;
 * --no-minor-gc-task, --no-incremental-marking-task: no GC started from a posted task,
 *   whose timing depends on when the event loop turns (measured: without them a scavenge
 *   "task" or an extra mark-compact came and went, 3.7 % of a start-up-only run, which the
 *   subtraction would turn into tens of % of the loop);
 * --hash-seed, --random-seed: the same hash tables and Math.random every run.
 */
const NODE_FLAGS = [
  "--single-threaded",
  "--predictable",
  "--predictable-gc-schedule",
  "--no-minor-gc-task",
  "--no-incremental-marking-task",
  "--hash-seed=1",
  "--random-seed=1",
];

const USAGE = `usage: node bench/cost/check.mjs [--update] [--no-build] [--runs N] [--jobs N] [--tolerance P] [--json FILE]
  --update       measure and rewrite bench/cost/baseline.json
  --no-build     use dist/ as it is (default: tsc -p tsconfig.json first)
  --runs N       measure N times, print the spread, compare the median (default 1)
  --jobs N       valgrind processes at once (default 2)
  --tolerance P  fail above +P % of the baseline (default 10)
  --json FILE    also write the results as JSON
`;

/**
 * One libuv pool thread: the ESM loader reads the modules with asynchronous fs calls, and
 * with several pool threads they complete, and are compiled and linked, in an order that
 * varies from run to run. That order leaves V8's shared hidden-class transitions in one of
 * a few states, and objects built later with the same property names cost more or less
 * (measured with the decoder's result objects, then made by napi_set_named_property: the
 * decode loop came in two modes 0.7 % apart without this, within 0.002 % with it).
 */
const NODE_ENV = { UV_THREADPOOL_SIZE: "1" };

function parseArgs(argv) {
  const o = { update: false, build: true, runs: 1, jobs: Math.min(2, os.availableParallelism()), tolerance: 10, json: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(2, `${a} needs a value`);
      return v;
    };
    if (a === "--update") o.update = true;
    else if (a === "--no-build") o.build = false;
    else if (a === "--runs") o.runs = positiveInt(a, value());
    else if (a === "--jobs") o.jobs = positiveInt(a, value());
    else if (a === "--tolerance") o.tolerance = Number(value());
    else if (a === "--json") o.json = value();
    else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else fail(2, `unknown option ${a} (try --help)`);
  }
  if (!(o.tolerance > 0)) fail(2, "--tolerance must be a positive percentage");
  return o;
}

function positiveInt(flag, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(2, `${flag} must be a positive integer`);
  return n;
}

function fail(code, message) {
  process.stderr.write(`cost check: ${message}\n`);
  process.exit(code);
}

function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0];
}

function build() {
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) fail(2, "node_modules/typescript is missing: run npm install first");
  process.stdout.write("building dist/ (tsc -p tsconfig.json)\n");
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) fail(2, "tsc failed");
}

/** One callgrind run: resolves to { instructions, result } or rejects with valgrind's story. */
function measure(name, iterations) {
  const args = [
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    process.execPath,
    ...NODE_FLAGS,
    workloadPath,
    name,
    String(iterations),
  ];
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...NODE_ENV };
    // Nothing from the caller's environment may change what is measured: no extra node
    // options, and the players' default (native) write path.
    delete env.NODE_OPTIONS;
    delete env.SLUICE_FANOUT;
    const child = spawn("valgrind", args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const tail = err.split("\n").slice(-25).join("\n");
      if (code !== 0) return reject(new Error(`${name} ${iterations}: valgrind/node exited ${code}\n${tail}`));
      // callgrind's summary: "==pid== Collected : 123" (and "I   refs:      1,234").
      const m = /Collected\s*:\s*(\d+)/.exec(err) ?? /I\s+refs:\s*([\d,]+)/.exec(err);
      if (!m) return reject(new Error(`${name} ${iterations}: no instruction count in valgrind's output\n${tail}`));
      const line = out.trim().split("\n").pop() ?? "";
      let result;
      try {
        result = JSON.parse(line);
      } catch {
        return reject(new Error(`${name} ${iterations}: the workload printed no result line\n${out}\n${tail}`));
      }
      resolve({ instructions: Number(m[1].replaceAll(",", "")), result });
    });
  });
}

/** Runs `tasks` (functions returning promises) at most `jobs` at a time, results in order. */
async function pool(tasks, jobs) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
const fmtPct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %`;

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join("  ");
      return i === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const valgrind = versionOf("valgrind", ["--version"]);
  if (!valgrind) fail(2, "valgrind is not installed (Debian/Ubuntu: apt-get install valgrind)");
  if (opts.build) build();
  for (const f of ["dist/stream/source.js", "dist/outputs/rtmp/rtmp-player.js", "build/Release/sluice.node"]) {
    if (!existsSync(path.join(root, f))) fail(2, `${f} is missing: run npm install (addon) and npx tsc -p tsconfig.json`);
  }

  const started = Date.now();
  process.stdout.write(`measuring with ${valgrind} and node ${process.version} (${opts.runs} run(s), ${opts.jobs} at once)\n`);
  // The long runs first, so that the runs in parallel finish together.
  const tasks = [];
  for (const iterations of [(w) => w.iterations, () => 0]) {
    for (let run = 0; run < opts.runs; run++) {
      for (const w of WORKLOADS) tasks.push({ w, run, iterations: iterations(w) });
    }
  }
  let measured;
  try {
    measured = await pool(
      tasks.map((t) => () => measure(t.w.name, t.iterations)),
      opts.jobs,
    );
  } catch (err) {
    fail(2, err.message);
  }

  const current = {};
  for (const w of WORKLOADS) {
    const perRun = [];
    let sample;
    for (let run = 0; run < opts.runs; run++) {
      const full = measured[tasks.findIndex((t) => t.w === w && t.run === run && t.iterations > 0)];
      const zero = measured[tasks.findIndex((t) => t.w === w && t.run === run && t.iterations === 0)];
      if (!(full.result.bytes > 0)) fail(2, `${w.name}: the workload processed no bytes`);
      const loop = full.instructions - zero.instructions;
      perRun.push({ loop, fixed: zero.instructions, perMB: loop / (full.result.bytes / 1e6) });
      sample = full.result;
    }
    const perMB = perRun.map((r) => r.perMB);
    current[w.name] = {
      instructionsPerMB: Math.round(median(perMB)),
      unit: `instructions per ${w.unit}`,
      iterations: w.iterations,
      bytes: sample.bytes,
      loopInstructions: Math.round(median(perRun.map((r) => r.loop))),
      fixedInstructions: Math.round(median(perRun.map((r) => r.fixed))),
      params: sample.params,
      ...(sample.writePath ? { writePath: sample.writePath } : {}),
      runs: perMB.map(Math.round),
      spread: opts.runs > 1 ? (Math.max(...perMB) - Math.min(...perMB)) / median(perMB) : 0,
    };
  }
  const seconds = (Date.now() - started) / 1000;

  const baseline = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, "utf8")) : null;
  const limit = 1 + opts.tolerance / 100;
  const rows = [["workload", "unit", "baseline", "current", "change", "limit", "spread", "result"]];
  const problems = [];
  const notes = [];
  for (const w of WORKLOADS) {
    const c = current[w.name];
    const b = baseline?.metrics?.[w.name];
    const spread = opts.runs > 1 ? fmtPct(c.spread).replace("+", "") : "-";
    if (!b) {
      rows.push([w.name, c.unit, "-", fmtInt(c.instructionsPerMB), "-", "-", spread, opts.update ? "recorded" : "NO BASELINE"]);
      if (!opts.update) problems.push(`${w.name}: no baseline (run node bench/cost/check.mjs --update and commit bench/cost/baseline.json)`);
      continue;
    }
    const sameWorkload =
      JSON.stringify(b.params) === JSON.stringify(c.params) && b.iterations === c.iterations && b.writePath === c.writePath;
    const ratio = c.instructionsPerMB / b.instructionsPerMB;
    let result = ratio > limit ? "FAIL" : "ok";
    if (!sameWorkload) {
      result = "CHANGED";
      problems.push(
        `${w.name}: the workload (its parameters, iterations or write path) differs from the baseline's, so the figures are not comparable: re-record with --update`,
      );
    } else if (ratio > limit) {
      problems.push(
        `${w.name}: ${fmtInt(c.instructionsPerMB)} ${c.unit}, ${fmtPct(ratio - 1)} over the baseline's ${fmtInt(b.instructionsPerMB)} (limit +${opts.tolerance} %)`,
      );
    } else if (ratio < 1 / limit && !opts.update) {
      notes.push(`${w.name} is ${fmtPct(ratio - 1)} below the baseline: record the gain with --update so that it is kept`);
    }
    rows.push([w.name, c.unit, fmtInt(b.instructionsPerMB), fmtInt(c.instructionsPerMB), fmtPct(ratio - 1), `+${opts.tolerance} %`, spread, opts.update ? "recorded" : result]);
  }
  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const w of WORKLOADS) {
    const c = current[w.name];
    process.stdout.write(
      `${w.name}: ${w.iterations} iteration(s), ${fmtInt(c.bytes)} bytes, ${fmtInt(c.loopInstructions)} instructions in the loop, ` +
        `${fmtInt(c.fixedInstructions)} fixed (start-up)${c.writePath ? `, write path ${c.writePath}` : ""}` +
        `${opts.runs > 1 ? `; per run: ${c.runs.map(fmtInt).join(", ")}` : ""}\n`,
    );
  }
  process.stdout.write(`measured in ${seconds.toFixed(0)} s\n`);

  if (baseline) {
    if (baseline.node !== process.version) {
      process.stdout.write(
        `warning: the baseline was recorded with node ${baseline.node}, this is ${process.version}: V8 and Node's own code count too, so a difference may be theirs\n`,
      );
    }
    if (baseline.valgrind !== valgrind) process.stdout.write(`warning: the baseline was recorded with ${baseline.valgrind}, this is ${valgrind}\n`);
    if (JSON.stringify(baseline.nodeFlags) !== JSON.stringify(NODE_FLAGS)) process.stdout.write("warning: the baseline was recorded with other node flags\n");
  }
  for (const n of notes) process.stdout.write(`note: ${n}\n`);

  const record = {
    node: process.version,
    valgrind,
    arch: `${process.platform}-${process.arch}`,
    nodeFlags: NODE_FLAGS,
    nodeEnv: NODE_ENV,
    recorded: new Date().toISOString().slice(0, 10),
    metrics: Object.fromEntries(
      Object.entries(current).map(([k, v]) => {
        const { runs: _runs, spread: _spread, ...keep } = v;
        return [k, keep];
      }),
    ),
  };
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ ...record, current, seconds, baseline }, null, 2)}\n`);
  if (opts.update) {
    writeFileSync(baselinePath, `${JSON.stringify(record, null, 2)}\n`);
    process.stdout.write(`baseline written to ${path.relative(process.cwd(), baselinePath)}: commit it with the change that explains it\n`);
    return;
  }
  if (problems.length > 0) {
    process.stdout.write(`\ncost check FAILED:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.stdout.write("If the extra cost is intended (a feature that has to cost it), re-record with node bench/cost/check.mjs --update and say why in the commit.\n");
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`cost check passed (every metric within +${opts.tolerance} % of the baseline)\n`);
}

await main();
