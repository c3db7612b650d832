/**
 * The capacity benchmark: 1 publisher -> N RTMP players of a ~500 kbps H.264+AAC stream,
 * the seed's headline scenario (SRS v1: 1800 players x 500 kbps on one core). For each N
 * it starts the server, publishes the generated test file with ffmpeg, ramps N players with
 * sluice-load (our native load generator), holds a steady window, samples the server's
 * CPU and RSS from /proc, and reports. With --peers the same scenario runs against
 * nginx-rtmp and node-media-server, interleaved, and every figure is also a ratio to
 * theirs. Results go to bench/results/ as JSON and markdown.
 *
 *   npm run bench                       300, 900, 1800 players, Sluice only
 *   npm run bench -- --peers            the same beside nginx-rtmp and node-media-server
 *   npm run bench -- --ceiling          step N up from 1800 until a player loses frames
 *   npm run bench -- --ci               1800 players, 15 s: correctness under load only
 *   options: --players 300,900 --window 40 --rate 200 --runs 1 (the window should be a
 *   multiple of the test file's 20 s loop for the delivered-Mbps check)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../test/support/fixtures.js";
import { sampleWindow, type WindowStats } from "./capacity/proc-stats.js";
import { REPO_ROOT, ensureNginxRtmp, startPeer, type RunningPeer, type ServerName } from "./capacity/servers.js";

interface Options {
  players: number[];
  window: number;
  rate: number;
  peers: boolean;
  ceiling: boolean;
  ci: boolean;
  runs: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { players: [300, 900, 1800], window: 40, rate: 200, peers: false, ceiling: false, ci: false, runs: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--peers") o.peers = true;
    else if (a === "--ceiling") o.ceiling = true;
    else if (a === "--ci") o.ci = true;
    else if (a === "--players") o.players = next().split(",").map(Number);
    else if (a === "--window") o.window = Number(next());
    else if (a === "--rate") o.rate = Number(next());
    else if (a === "--runs") o.runs = Number(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.ci) {
    o.players = [1800];
    o.window = 15;
  }
  return o;
}

/** What sluice-load reports (docs/load.md, "JSON"); the fields this bench reads. */
interface LoadReport {
  players: { requested: number; started: number; playing: number; failed: number };
  failures: Record<string, number>;
  mbps: number | null;
  fps: { min: number; median: number; max: number } | null;
  worstGapInWindowMs: number | null;
  framesLost: number;
  playersLosingFrames: number;
  cpu: { percentOfOneCore: number } | null;
}

interface RunResult {
  server: ServerName;
  players: number;
  cpu: number;
  rssMb: number;
  loadCpu: number;
  publisherCpu: number;
  hostBusy: number;
  deliveredMbps: number;
  targetMbps: number;
  worstFps: number;
  framesLost: number;
  playersLosingFrames: number;
  failed: number;
  failures: Record<string, number>;
  worstGapMs: number;
}

/** The test file's overall bit rate in kbps, from ffprobe. */
function streamKbps(file: string): number {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_format", "-of", "json", file], { encoding: "utf8" });
  const f = (JSON.parse(r.stdout || "{}") as { format?: { bit_rate?: string } }).format;
  return Number(f?.bit_rate ?? 0) / 1000;
}

async function runOne(server: ServerName, players: number, o: Options, media: string, kbps: number): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-${server}-`));
  let peer: RunningPeer | undefined;
  const children: ChildProcess[] = [];
  try {
    peer = await startPeer(server, dir);
    const url = `rtmp://127.0.0.1:${peer.port}/live/bench`;
    const pub = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", media, "-c", "copy", "-f", "flv", url], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(pub);
    await new Promise((r) => setTimeout(r, 2500)); // publish, and fill the GOP cache
    const json = path.join(dir, "load.json");
    const ramp = players / o.rate;
    const settle = 2;
    const load = spawn(
      path.join(REPO_ROOT, "build", "Release", "sluice_load"),
      ["-u", url, "-c", String(players), "-r", String(o.rate), "-d", String(o.window), "--settle", String(settle), "--json", json, "--quiet"],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    children.push(load);
    const loadDone = new Promise<void>((resolve) => load.once("exit", () => resolve()));
    // The load generator's window starts `settle` s after every player plays; ours starts
    // a second later and ends a second earlier, inside it.
    await new Promise((r) => setTimeout(r, (ramp + settle + 2) * 1000));
    const w: WindowStats = await sampleWindow({ server: peer.pid, load: load.pid!, publisher: pub.pid! }, Math.max(3, o.window - 3));
    await loadDone;
    const rep = JSON.parse(readFileSync(json, "utf8")) as LoadReport;
    return {
      server,
      players,
      cpu: w.cpu["server"]!,
      rssMb: w.rssPeak["server"]!,
      loadCpu: w.cpu["load"]!,
      publisherCpu: w.cpu["publisher"]!,
      hostBusy: w.hostBusy,
      // Over the load generator's window, which is a whole number of the file's 20 s loops
      // (its bit rate varies within a loop), so N x the file's rate is the exact target.
      deliveredMbps: rep.mbps ?? 0,
      targetMbps: (players * kbps) / 1000,
      worstFps: rep.fps?.min ?? 0,
      framesLost: rep.framesLost,
      playersLosingFrames: rep.playersLosingFrames,
      failed: rep.players.failed + (players - rep.players.started),
      failures: rep.failures,
      worstGapMs: rep.worstGapInWindowMs ?? NaN,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

function table(results: RunResult[], o: Options): string {
  const rows = [
    "| server | players | CPU % (1 core) | RSS MB | delivered Mbps | target Mbps | worst fps | frames lost | failed | worst gap ms | host busy % | load gen CPU % |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    rows.push(
      `| ${r.server} | ${r.players} | ${fmt(r.cpu)} | ${fmt(r.rssMb, 0)} | ${fmt(r.deliveredMbps)} | ${fmt(r.targetMbps)} | ${fmt(r.worstFps)} | ${r.framesLost} | ${r.failed} | ${fmt(r.worstGapMs, 0)} | ${fmt(r.hostBusy)} | ${fmt(r.loadCpu)} |`,
    );
  }
  if (o.peers) {
    rows.push("", "| players | CPU vs nginx-rtmp | CPU vs node-media-server | RSS vs nginx-rtmp (MB) |", "|---|---|---|---|");
    for (const n of new Set(results.map((r) => r.players))) {
      const s = results.find((r) => r.server === "sluice" && r.players === n);
      const ng = results.find((r) => r.server === "nginx-rtmp" && r.players === n);
      const nm = results.find((r) => r.server === "node-media-server" && r.players === n);
      if (!s) continue;
      rows.push(
        `| ${n} | ${ng ? fmt(s.cpu / ng.cpu, 2) + "x" : "-"} | ${nm ? fmt(s.cpu / nm.cpu, 2) + "x" : "-"} | ${ng ? (s.rssMb - ng.rssMb >= 0 ? "+" : "") + fmt(s.rssMb - ng.rssMb, 0) : "-"} |`,
      );
    }
  }
  return rows.join("\n");
}

interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
}

function verdicts(results: RunResult[], o: Options): Verdict[] {
  const out: Verdict[] = [];
  const at = results.filter((r) => r.server === "sluice" && r.players === Math.max(...o.players));
  for (const s of at) {
    out.push({ name: `${s.players} players: every player gets every frame`, pass: s.worstFps >= 24.5 && s.framesLost === 0 && s.failed === 0, detail: `worst fps ${fmt(s.worstFps)}, frames lost ${s.framesLost}, failed ${s.failed}` });
    if (!o.ci) {
      out.push({ name: `${s.players} players: delivered Mbps within 2 % of target`, pass: Math.abs(s.deliveredMbps - s.targetMbps) <= s.targetMbps * 0.02, detail: `${fmt(s.deliveredMbps)} vs ${fmt(s.targetMbps)}` });
    }
    const ng = results.find((r) => r.server === "nginx-rtmp" && r.players === s.players);
    const nm = results.find((r) => r.server === "node-media-server" && r.players === s.players);
    if (ng) {
      out.push({ name: "server CPU <= 0.5 x nginx-rtmp's", pass: s.cpu <= 0.5 * ng.cpu, detail: `${fmt(s.cpu)} % vs ${fmt(ng.cpu)} % (${fmt(s.cpu / ng.cpu, 2)}x)` });
      out.push({ name: "RSS <= nginx-rtmp's + 60 MB", pass: s.rssMb <= ng.rssMb + 60, detail: `${fmt(s.rssMb, 0)} MB vs ${fmt(ng.rssMb, 0)} MB` });
    }
    if (nm) out.push({ name: "server CPU <= 0.3 x node-media-server's", pass: s.cpu <= 0.3 * nm.cpu, detail: `${fmt(s.cpu)} % vs ${fmt(nm.cpu)} % (${fmt(s.cpu / nm.cpu, 2)}x)` });
  }
  return out;
}

function lostFrames(r: RunResult): boolean {
  return r.framesLost > 0 || r.failed > 0 || r.worstFps < 24.5;
}

async function ceiling(server: ServerName, o: Options, media: string, kbps: number): Promise<{ held: number; results: RunResult[] }> {
  const results: RunResult[] = [];
  let held = 0;
  // Steps of about a third, so a ceiling several times 1800 is found in a few runs.
  for (const n of [1800, 2400, 3200, 4200, 5600, 7500, 10000]) {
    const r = await runOne(server, n, o, media, kbps);
    results.push(r);
    process.stdout.write(`${server} ceiling: ${n} players -> worst fps ${fmt(r.worstFps)}, frames lost ${r.framesLost}, failed ${r.failed}, CPU ${fmt(r.cpu)} %\n`);
    if (lostFrames(r)) break;
    held = n;
  }
  return { held, results };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const servers: ServerName[] = ["sluice"];
  if (o.peers) {
    const why = ensureNginxRtmp();
    if (why) process.stderr.write(`skipping nginx-rtmp: ${why}\n`);
    else servers.push("nginx-rtmp");
    servers.push("node-media-server");
  }
  const media = await testMedia("h264-aac-500k");
  const kbps = streamKbps(media);
  process.stdout.write(`stream: ${media} (${fmt(kbps, 0)} kbps); players ${o.players.join(", ")}; window ${o.window} s; servers ${servers.join(", ")}\n`);

  const results: RunResult[] = [];
  const ceilings: Record<string, number> = {};
  if (o.ceiling) {
    for (const s of servers) {
      const c = await ceiling(s, o, media, kbps);
      ceilings[s] = c.held;
      results.push(...c.results);
    }
  } else {
    for (let run = 0; run < o.runs; run++) {
      for (const n of o.players) {
        // Interleaved: each N runs on every server before the next N.
        for (const s of servers) {
          const r = await runOne(s, n, o, media, kbps);
          results.push(r);
          process.stdout.write(`${s} ${n} players: CPU ${fmt(r.cpu)} %, RSS ${fmt(r.rssMb, 0)} MB, ${fmt(r.deliveredMbps)} Mbps of ${fmt(r.targetMbps)}, worst fps ${fmt(r.worstFps)}, lost ${r.framesLost}, failed ${r.failed}, host ${fmt(r.hostBusy)} %\n`);
        }
      }
    }
  }

  const v = o.ceiling
    ? Object.keys(ceilings).length > 1
      ? [{ name: "ceiling higher than nginx-rtmp's", pass: (ceilings["sluice"] ?? 0) > (ceilings["nginx-rtmp"] ?? Infinity), detail: JSON.stringify(ceilings) }]
      : []
    : verdicts(results, o);
  const md = [
    `# Capacity benchmark, ${new Date().toISOString()}`,
    "",
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${fmt(os.totalmem() / 2 ** 30, 0)} GiB; node ${process.version}. Stream ${fmt(kbps, 0)} kbps H.264+AAC, 25 fps, 2 s GOP. Window ${o.window} s.`,
    "CPU is utime+stime of the server process (nginx: its worker) in % of one core; host busy is all cores together (100 % = both busy): when it nears 100 %, the host, not the server, is the limit.",
    "",
    table(results, o),
    "",
    ...(o.ceiling ? [`Ceiling (most players with no frame lost): ${JSON.stringify(ceilings)}`, ""] : []),
    ...v.map((x) => `- ${x.pass ? "PASS" : "FAIL"} ${x.name}: ${x.detail}`),
    "",
  ].join("\n");
  process.stdout.write("\n" + md);
  const dir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const kind = o.ci ? "ci" : o.ceiling ? "ceiling" : o.peers ? "peers" : "capacity";
  writeFileSync(path.join(dir, `${kind}-${stamp}.json`), JSON.stringify({ options: o, kbps, results, verdicts: v, ceilings }, null, 2));
  writeFileSync(path.join(dir, `${kind}-${stamp}.md`), md);
  return o.ci ? (v.every((x) => x.pass) ? 0 : 1) : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
