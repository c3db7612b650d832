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
 *   npm run bench -- --protocol http-flv           the same steps with HTTP-FLV players
 *   npm run bench -- --protocol both               RTMP and HTTP-FLV back to back, per step
 *   npm run bench -- --protocol both --peers       and node-media-server's HTTP-FLV beside
 *   options: --players 300,900 --window 40 --rate 200 --runs 1 (the window should be a
 *   multiple of the test file's 20 s loop for the delivered-Mbps check)
 *
 * --protocol rtmp (the default), http-flv, or both (= rtmp,http-flv): which kind of player
 * sluice-load runs. HTTP-FLV runs start Sluice with http_server and http_remux on and play
 * http://127.0.0.1:PORT/live/bench.flv; node-media-server 4.4.3 serves the same URL form on
 * its HTTP port. nginx-rtmp has no HTTP-FLV (that is the nginx-http-flv-module fork), so
 * it runs the RTMP steps only. With --runs N > 1 a table of medians and spreads follows.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../test/support/fixtures.js";
import { sampleWindow, type WindowStats } from "./capacity/proc-stats.js";
import { REPO_ROOT, ensureNginxRtmp, servesHttpFlv, startPeer, type RunningPeer, type ServerName } from "./capacity/servers.js";

type Protocol = "rtmp" | "http-flv";
const PROTOCOL_LABEL: Record<Protocol, string> = { rtmp: "RTMP", "http-flv": "HTTP-FLV" };

interface Options {
  players: number[];
  window: number;
  rate: number;
  peers: boolean;
  ceiling: boolean;
  ci: boolean;
  runs: number;
  /** Which players, in the order they run at each step; ["rtmp"] unless --protocol. */
  protocols: Protocol[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { players: [300, 900, 1800], window: 40, rate: 200, peers: false, ceiling: false, ci: false, runs: 1, protocols: ["rtmp"] };
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
    else if (a === "--protocol") o.protocols = parseProtocols(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.ci) {
    o.players = [1800];
    o.window = 15;
  }
  return o;
}

function parseProtocols(v: string): Protocol[] {
  const list = v === "both" ? ["rtmp", "http-flv"] : v.split(",");
  const out: Protocol[] = [];
  for (const p of list) {
    if (p !== "rtmp" && p !== "http-flv") throw new Error(`--protocol: expected rtmp, http-flv or both, not ${JSON.stringify(p)}`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** True unless the run is the plain RTMP one: then tables and verdicts name the protocol. */
function multiProtocol(o: Options): boolean {
  return o.protocols.length !== 1 || o.protocols[0] !== "rtmp";
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
  protocol: Protocol;
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
  /** What went wrong beside the figures: a process that exited in the window, with the server's last warnings. */
  notes?: string[];
  /** Which of --runs this was (0-based); verdicts compare servers within one run. */
  run?: number;
}

/** The test file's overall bit rate in kbps, from ffprobe. */
function streamKbps(file: string): number {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_format", "-of", "json", file], { encoding: "utf8" });
  const f = (JSON.parse(r.stdout || "{}") as { format?: { bit_rate?: string } }).format;
  return Number(f?.bit_rate ?? 0) / 1000;
}

async function runOne(server: ServerName, protocol: Protocol, players: number, o: Options, media: string, kbps: number): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-${server}-`));
  let peer: RunningPeer | undefined;
  const children: ChildProcess[] = [];
  try {
    peer = await startPeer(server, dir, { httpFlv: protocol === "http-flv" });
    const publishUrl = `rtmp://127.0.0.1:${peer.port}/live/bench`;
    let url = publishUrl;
    if (protocol === "http-flv") {
      if (peer.httpPort === undefined) throw new Error(`${server} serves no HTTP-FLV`);
      url = `http://127.0.0.1:${peer.httpPort}/live/bench.flv`;
    }
    const pub = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", media, "-c", "copy", "-f", "flv", publishUrl], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const pubErr: string[] = [];
    pub.stderr?.on("data", (d: Buffer) => pubErr.push(d.toString()));
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
    const notes: string[] = [];
    if (w.exited.length > 0) {
      const warn = peer
        .logTail()
        .filter((l) => /warn|error|closed|timeout/i.test(l) && !/open-files limit/.test(l))
        .slice(-3);
      const pe = pubErr.join("").trim().split("\n").filter(Boolean).slice(-1);
      notes.push(
        `${w.exited.join(", ")} exited during the window` +
          (warn.length ? `; server's last warnings: ${warn.map((l) => l.slice(0, 240)).join(" / ")}` : "") +
          (w.exited.includes("publisher") && pe.length ? `; ffmpeg: ${pe[0]!.slice(0, 200)}` : ""),
      );
    }
    return {
      server,
      protocol,
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
      ...(notes.length ? { notes } : {}),
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

function table(results: RunResult[], o: Options): string {
  if (multiProtocol(o)) return protocolTable(results, o);
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

/** The median of `xs` (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Runs of one server, protocol and N together: medians, and the spread of CPU and RSS. */
interface Summary {
  server: ServerName;
  protocol: Protocol;
  players: number;
  runs: number;
  cpu: number;
  cpuMin: number;
  cpuMax: number;
  rssMb: number;
  rssMin: number;
  rssMax: number;
  deliveredMbps: number;
  targetMbps: number;
  worstFps: number;
  framesLost: number;
  failed: number;
  hostBusy: number;
  loadCpu: number;
}

function summarize(results: RunResult[]): Summary[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const k = `${r.server}|${r.protocol}|${r.players}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    server: g[0]!.server,
    protocol: g[0]!.protocol,
    players: g[0]!.players,
    runs: g.length,
    cpu: median(g.map((r) => r.cpu)),
    cpuMin: Math.min(...g.map((r) => r.cpu)),
    cpuMax: Math.max(...g.map((r) => r.cpu)),
    rssMb: median(g.map((r) => r.rssMb)),
    rssMin: Math.min(...g.map((r) => r.rssMb)),
    rssMax: Math.max(...g.map((r) => r.rssMb)),
    deliveredMbps: median(g.map((r) => r.deliveredMbps)),
    targetMbps: g[0]!.targetMbps,
    worstFps: Math.min(...g.map((r) => r.worstFps)),
    framesLost: g.reduce((a, r) => a + r.framesLost, 0),
    failed: g.reduce((a, r) => a + r.failed, 0),
    hostBusy: median(g.map((r) => r.hostBusy)),
    loadCpu: median(g.map((r) => r.loadCpu)),
  }));
}

const ratio = (a: number, b: number | undefined) => (b !== undefined && b > 0 ? fmt(a / b, 2) + "x" : "-");

/** The table when the protocol is named: a protocol column, and Sluice beside the others per protocol. */
function protocolTable(results: RunResult[], o: Options): string {
  const rows = [
    "| server | protocol | players | CPU % (1 core) | RSS MB | delivered Mbps | target Mbps | worst fps | frames lost | failed | worst gap ms | host busy % | load gen CPU % |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    rows.push(
      `| ${r.server} | ${PROTOCOL_LABEL[r.protocol]} | ${r.players} | ${fmt(r.cpu)} | ${fmt(r.rssMb, 0)} | ${fmt(r.deliveredMbps)} | ${fmt(r.targetMbps)} | ${fmt(r.worstFps)} | ${r.framesLost} | ${r.failed} | ${fmt(r.worstGapMs, 0)} | ${fmt(r.hostBusy)} | ${fmt(r.loadCpu)} |`,
    );
  }
  // Ratios of medians (of the one run when --runs 1).
  const sum = summarize(results);
  const find = (server: ServerName, protocol: Protocol, n: number) => sum.find((x) => x.server === server && x.protocol === protocol && x.players === n);
  const both = o.protocols.length > 1;
  if (both || o.peers) {
    rows.push(
      "",
      "| players | Sluice, protocol | Sluice held every run | Sluice CPU % | vs Sluice RTMP | vs nginx-rtmp (RTMP) | vs node-media-server, same protocol | Sluice RSS MB | node-media-server RSS MB, same protocol |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const n of new Set(results.map((r) => r.players))) {
      for (const p of o.protocols) {
        const s = find("sluice", p, n);
        if (!s) continue;
        const sr = find("sluice", "rtmp", n);
        const ng = find("nginx-rtmp", "rtmp", n);
        const nm = find("node-media-server", p, n);
        // Held: every player got every frame in every run (else the CPU is of a server that lost its stream or players).
        const held = results.filter((r) => r.server === "sluice" && r.protocol === p && r.players === n).every((r) => !lostFrames(r) && !r.notes);
        rows.push(
          `| ${n} | ${PROTOCOL_LABEL[p]} | ${held ? "yes" : "no"} | ${fmt(s.cpu)} | ${p === "rtmp" ? "-" : ratio(s.cpu, sr?.cpu)} | ${ratio(s.cpu, ng?.cpu)} | ${ratio(s.cpu, nm?.cpu)} | ${fmt(s.rssMb, 0)} | ${nm ? fmt(nm.rssMb, 0) : "-"} |`,
        );
      }
    }
  }
  return rows.join("\n");
}

/** With --runs N > 1: per server, protocol and N, the median and the range over the runs. */
function summaryTable(results: RunResult[]): string {
  const rows = [
    "| server | protocol | players | runs | CPU % median (min-max) | RSS MB median (min-max) | delivered Mbps median | worst fps (all runs) | frames lost (sum) | failed (sum) | host busy % median | load gen CPU % median |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of summarize(results)) {
    rows.push(
      `| ${s.server} | ${PROTOCOL_LABEL[s.protocol]} | ${s.players} | ${s.runs} | ${fmt(s.cpu)} (${fmt(s.cpuMin)}-${fmt(s.cpuMax)}) | ${fmt(s.rssMb, 0)} (${fmt(s.rssMin, 0)}-${fmt(s.rssMax, 0)}) | ${fmt(s.deliveredMbps)} | ${fmt(s.worstFps)} | ${s.framesLost} | ${s.failed} | ${fmt(s.hostBusy)} | ${fmt(s.loadCpu)} |`,
    );
  }
  return rows.join("\n");
}

interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
  /** A figure to read, not a target: printed as INFO and left out of --ci's status. */
  info?: boolean;
}

function verdicts(results: RunResult[], o: Options): Verdict[] {
  const out: Verdict[] = [];
  const multi = multiProtocol(o);
  const at = results.filter((r) => r.server === "sluice" && r.players === Math.max(...o.players));
  for (const s of at) {
    // The plain RTMP run names no protocol, as before --protocol existed.
    const pre = (o.runs > 1 ? `run ${(s.run ?? 0) + 1}: ` : "") + (multi ? `${PROTOCOL_LABEL[s.protocol]} ` : "");
    out.push({ name: `${pre}${s.players} players: every player gets every frame`, pass: s.worstFps >= 24.5 && s.framesLost === 0 && s.failed === 0, detail: `worst fps ${fmt(s.worstFps)}, frames lost ${s.framesLost}, failed ${s.failed}` });
    if (!o.ci) {
      out.push({ name: `${pre}${s.players} players: delivered Mbps within 2 % of target`, pass: Math.abs(s.deliveredMbps - s.targetMbps) <= s.targetMbps * 0.02, detail: `${fmt(s.deliveredMbps)} vs ${fmt(s.targetMbps)}` });
    }
    if (s.protocol === "rtmp") {
      const ng = results.find((r) => r.server === "nginx-rtmp" && r.protocol === "rtmp" && r.players === s.players && r.run === s.run);
      const nm = results.find((r) => r.server === "node-media-server" && r.protocol === "rtmp" && r.players === s.players && r.run === s.run);
      if (ng) {
        out.push({ name: `${pre}server CPU <= 0.5 x nginx-rtmp's`, pass: s.cpu <= 0.5 * ng.cpu, detail: `${fmt(s.cpu)} % vs ${fmt(ng.cpu)} % (${fmt(s.cpu / ng.cpu, 2)}x)` });
        out.push({ name: `${pre}RSS <= nginx-rtmp's + 60 MB`, pass: s.rssMb <= ng.rssMb + 60, detail: `${fmt(s.rssMb, 0)} MB vs ${fmt(ng.rssMb, 0)} MB` });
      }
      if (nm) out.push({ name: `${pre}server CPU <= 0.3 x node-media-server's`, pass: s.cpu <= 0.3 * nm.cpu, detail: `${fmt(s.cpu)} % vs ${fmt(nm.cpu)} % (${fmt(s.cpu / nm.cpu, 2)}x)` });
    } else {
      // No target was set for HTTP-FLV against the others: the figures, beside.
      const sr = results.find((r) => r.server === "sluice" && r.protocol === "rtmp" && r.players === s.players && r.run === s.run);
      const nm = results.find((r) => r.server === "node-media-server" && r.protocol === s.protocol && r.players === s.players && r.run === s.run);
      if (sr) out.push({ info: true, pass: true, name: `${pre}server CPU vs Sluice's RTMP`, detail: `${fmt(s.cpu)} % vs ${fmt(sr.cpu)} % (${fmt(s.cpu / sr.cpu, 2)}x); RSS ${fmt(s.rssMb, 0)} vs ${fmt(sr.rssMb, 0)} MB` });
      if (nm) out.push({ info: true, pass: true, name: `${pre}server CPU vs node-media-server's ${PROTOCOL_LABEL[s.protocol]}`, detail: `${fmt(s.cpu)} % vs ${fmt(nm.cpu)} % (${fmt(s.cpu / nm.cpu, 2)}x); its players failed ${nm.failed}, frames lost ${nm.framesLost}, ${fmt(nm.deliveredMbps)} Mbps` });
    }
  }
  return out;
}

function lostFrames(r: RunResult): boolean {
  return r.framesLost > 0 || r.failed > 0 || r.worstFps < 24.5;
}

async function ceiling(server: ServerName, protocol: Protocol, o: Options, media: string, kbps: number): Promise<{ held: number; results: RunResult[] }> {
  const results: RunResult[] = [];
  let held = 0;
  const label = multiProtocol(o) ? `${server} ${PROTOCOL_LABEL[protocol]}` : server;
  // Steps of about a third, so a ceiling several times 1800 is found in a few runs.
  for (const n of [1800, 2400, 3200, 4200, 5600, 7500, 10000]) {
    const r = await runOne(server, protocol, n, o, media, kbps);
    results.push(r);
    process.stdout.write(`${label} ceiling: ${n} players -> worst fps ${fmt(r.worstFps)}, frames lost ${r.framesLost}, failed ${r.failed}, CPU ${fmt(r.cpu)} %\n`);
    if (lostFrames(r)) break;
    held = n;
  }
  return { held, results };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const multi = multiProtocol(o);
  const servers: ServerName[] = ["sluice"];
  if (o.peers) {
    const why = ensureNginxRtmp();
    if (why) process.stderr.write(`skipping nginx-rtmp: ${why}\n`);
    else servers.push("nginx-rtmp");
    servers.push("node-media-server");
  }
  // What runs at each step, in order: each server's protocols back to back.
  const targets: { server: ServerName; protocol: Protocol }[] = [];
  const notes: string[] = [];
  for (const server of servers) {
    for (const protocol of o.protocols) {
      if (protocol === "http-flv" && !servesHttpFlv(server)) {
        notes.push(`${server} has no HTTP-FLV (that is the separate nginx-http-flv-module), so it runs the RTMP steps only.`);
        continue;
      }
      targets.push({ server, protocol });
    }
  }
  for (const n of notes) process.stderr.write(`skipping: ${n}\n`);
  const media = await testMedia("h264-aac-500k");
  const kbps = streamKbps(media);
  process.stdout.write(
    `stream: ${media} (${fmt(kbps, 0)} kbps); players ${o.players.join(", ")}; window ${o.window} s; servers ${servers.join(", ")}` +
      (multi ? `; protocols ${o.protocols.join(", ")}` : "") +
      "\n",
  );
  const label = (t: { server: ServerName; protocol: Protocol }) => (multi ? `${t.server} ${PROTOCOL_LABEL[t.protocol]}` : t.server);

  const results: RunResult[] = [];
  const ceilings: Record<string, number> = {};
  if (o.ceiling) {
    for (const t of targets) {
      const c = await ceiling(t.server, t.protocol, o, media, kbps);
      ceilings[multi ? `${t.server} ${t.protocol}` : t.server] = c.held;
      results.push(...c.results);
    }
  } else {
    for (let run = 0; run < o.runs; run++) {
      for (const n of o.players) {
        // Interleaved: each N runs on every server (and protocol) before the next N.
        for (const t of targets) {
          const r = { ...(await runOne(t.server, t.protocol, n, o, media, kbps)), run };
          results.push(r);
          process.stdout.write(`${label(t)} ${n} players: CPU ${fmt(r.cpu)} %, RSS ${fmt(r.rssMb, 0)} MB, ${fmt(r.deliveredMbps)} Mbps of ${fmt(r.targetMbps)}, worst fps ${fmt(r.worstFps)}, lost ${r.framesLost}, failed ${r.failed}, host ${fmt(r.hostBusy)} %\n`);
          for (const n of r.notes ?? []) process.stdout.write(`  note: ${n}\n`);
        }
      }
    }
  }

  const sluiceKey = multi ? "sluice rtmp" : "sluice";
  const nginxKey = multi ? "nginx-rtmp rtmp" : "nginx-rtmp";
  const v: Verdict[] = o.ceiling
    ? Object.keys(ceilings).length > 1
      ? [{ name: "ceiling higher than nginx-rtmp's", pass: (ceilings[sluiceKey] ?? 0) > (ceilings[nginxKey] ?? Infinity), detail: JSON.stringify(ceilings) }]
      : []
    : verdicts(results, o);
  const md = [
    `# Capacity benchmark, ${new Date().toISOString()}`,
    "",
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${fmt(os.totalmem() / 2 ** 30, 0)} GiB; node ${process.version}. Stream ${fmt(kbps, 0)} kbps H.264+AAC, 25 fps, 2 s GOP. Window ${o.window} s.`,
    "CPU is utime+stime of the server process (nginx: its worker) in % of one core; host busy is all cores together (100 % = both busy): when it nears 100 %, the host, not the server, is the limit.",
    ...(multi
      ? [
          `Players: ${o.protocols.map((p) => PROTOCOL_LABEL[p]).join(" and ")} from sluice-load (HTTP-FLV: GET http://127.0.0.1:PORT/live/bench.flv; Sluice with http_server and http_remux on, node-media-server 4.4.3 on its own HTTP port). ${notes.join(" ")}`,
        ]
      : []),
    "",
    table(results, o),
    "",
    ...(results.some((r) => r.notes)
      ? [...results.flatMap((r) => (r.notes ?? []).map((n) => `- note, ${r.server}${multi ? ` ${PROTOCOL_LABEL[r.protocol]}` : ""} ${r.players} players: ${n}`)), ""]
      : []),
    ...(o.runs > 1 && !o.ceiling ? [`Over ${o.runs} runs (interleaved):`, "", summaryTable(results), ""] : []),
    ...(o.ceiling ? [`Ceiling (most players with no frame lost): ${JSON.stringify(ceilings)}`, ""] : []),
    ...v.map((x) => `- ${x.info ? "INFO" : x.pass ? "PASS" : "FAIL"} ${x.name}: ${x.detail}`),
    "",
  ].join("\n");
  process.stdout.write("\n" + md);
  const dir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const kind = (o.ci ? "ci" : o.ceiling ? "ceiling" : o.peers ? "peers" : "capacity") + (multi ? `-${o.protocols.join("-")}` : "");
  writeFileSync(path.join(dir, `${kind}-${stamp}.json`), JSON.stringify({ options: o, kbps, results, verdicts: v, ceilings }, null, 2));
  writeFileSync(path.join(dir, `${kind}-${stamp}.md`), md);
  return o.ci ? (v.every((x) => x.pass || x.info) ? 0 : 1) : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
