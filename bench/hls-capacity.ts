/**
 * The HLS capacity benchmark (issue 7): S streams (50 by default) published at once, each
 * the ~500 kbps H.264+AAC test file, each segmented into HLS by one Sluice process; the
 * server's CPU (utime+stime, % of one core) and RSS over a steady window, and a check that
 * every stream produced a live playlist whose segments kept coming, are served, and that
 * ffprobe reads one of them.
 *
 *   npm run bench:hls                               off, disk, memory; 50 streams; 40 s
 *   npm run bench:hls -- --runs 3                   three interleaved rounds: medians, spread
 *   options: --streams 50 --window 40 --variants off,disk,memory --publishers 5
 *            --fragment 2 --hls-window 10 --warmup 8
 *
 * Variants: `disk` is `hls { enabled on; hls_fragment 2; hls_window 10; hls_path DIR; }`
 * with DIR under a temporary directory; `memory` adds `hls_storage memory;` (no disk I/O,
 * served from the HTTP server's index); `off` publishes the same streams with HLS off, so
 * that disk - off is HLS's own cost. Every variant runs http_server and http_remux (idle:
 * nothing plays during the window; the remux is how the bench checks that each stream is
 * being published), so the three differ in hls { } only.
 *
 * Publishers: 50 ffmpeg processes would cost more CPU than the server on a 2-core host, so
 * a few ffmpeg processes (--publishers, 5) each read the file once (`-re -stream_loop -1`)
 * and copy it to their share of the streams with the tee muxer (`-f tee
 * "[f=flv:onfail=ignore]rtmp://.../s1|..."`). Their starts are spread over one fragment,
 * so that the groups' keyframes, hence the segment cuts, do not all fall on the same
 * instant; the streams of one group do cut together. Only the server process's CPU is the
 * figure; the publishers' is reported beside it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../test/support/fixtures.js";
import { sampleWindow } from "./capacity/proc-stats.js";
import { REPO_ROOT, startSluice, type RunningPeer } from "./capacity/servers.js";

type Variant = "off" | "disk" | "memory";
const VARIANTS: readonly Variant[] = ["off", "disk", "memory"];

interface Options {
  streams: number;
  window: number;
  runs: number;
  variants: Variant[];
  publishers: number;
  fragment: number;
  hlsWindow: number;
  warmup: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { streams: 50, window: 40, runs: 1, variants: [...VARIANTS], publishers: 5, fragment: 2, hlsWindow: 10, warmup: 8 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const n = Number(next());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    if (a === "--streams") o.streams = Math.round(num());
    else if (a === "--window") o.window = num();
    else if (a === "--runs") o.runs = Math.round(num());
    else if (a === "--publishers") o.publishers = Math.round(num());
    else if (a === "--fragment") o.fragment = num();
    else if (a === "--hls-window") o.hlsWindow = num();
    else if (a === "--warmup") o.warmup = num();
    else if (a === "--variants") {
      o.variants = next().split(",") as Variant[];
      for (const v of o.variants) if (!VARIANTS.includes(v)) throw new Error(`--variants: expected off, disk, memory, not ${JSON.stringify(v)}`);
    } else throw new Error(`unknown option ${a}`);
  }
  o.publishers = Math.min(o.publishers, o.streams);
  return o;
}

/** One playlist as fetched: its media sequence and segments. */
interface Playlist {
  mediaSequence: number;
  targetDuration: number;
  segments: { uri: string; duration: number }[];
}

function parsePlaylist(text: string): Playlist | undefined {
  if (!text.startsWith("#EXTM3U")) return undefined;
  const p: Playlist = { mediaSequence: 0, targetDuration: 0, segments: [] };
  let duration = NaN;
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) p.mediaSequence = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-TARGETDURATION:")) p.targetDuration = Number(line.slice(22));
    else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith("#")) {
      p.segments.push({ uri: line, duration });
      duration = NaN;
    }
  }
  return p;
}

async function fetchPlaylist(base: string, stream: string): Promise<Playlist | undefined> {
  try {
    const r = await fetch(`${base}/live/${stream}.m3u8`, { signal: AbortSignal.timeout(5000) });
    if (r.status !== 200) return undefined;
    return parsePlaylist(await r.text());
  } catch {
    return undefined;
  }
}

/** True when GET /live/STREAM.flv answers 200 and an FLV header: the stream is being published. */
async function isPublished(base: string, stream: string): Promise<boolean> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 5000);
  try {
    const r = await fetch(`${base}/live/${stream}.flv`, { signal: ac.signal });
    if (r.status !== 200 || !r.body) return false;
    const reader = r.body.getReader();
    let got = Buffer.alloc(0);
    while (got.length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      got = Buffer.concat([got, Buffer.from(value)]);
    }
    void reader.cancel().catch(() => {});
    return got.subarray(0, 3).toString("latin1") === "FLV";
  } catch {
    return false;
  } finally {
    clearTimeout(t);
    ac.abort();
  }
}

/** Bytes the process has sent towards storage (/proc/PID/io write_bytes: counted as it dirties pages), or NaN. */
function writeBytes(pid: number): number {
  try {
    const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** ffprobe one segment: an H.264 and an AAC stream in MPEG-TS, about a fragment long. */
function probe(target: string, fragment: number): ProbeResult {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,codec_name:format=format_name,duration", "-of", "json", target], {
    encoding: "utf8",
    timeout: 15_000,
  });
  if (r.status !== 0) return { ok: false, detail: `ffprobe ${target}: status ${r.status}: ${(r.stderr || "").trim().slice(0, 200)}` };
  const j = JSON.parse(r.stdout || "{}") as { streams?: { codec_type?: string; codec_name?: string }[]; format?: { format_name?: string; duration?: string } };
  const codecs = (j.streams ?? []).map((s) => `${s.codec_type}:${s.codec_name}`).sort();
  const duration = Number(j.format?.duration);
  const ok =
    j.format?.format_name === "mpegts" &&
    codecs.includes("video:h264") &&
    codecs.includes("audio:aac") &&
    duration >= fragment * 0.5 &&
    duration <= fragment * 2.5;
  return { ok, detail: `${j.format?.format_name ?? "?"}, ${codecs.join(" ")}, ${Number.isFinite(duration) ? duration.toFixed(2) : "?"} s` };
}

interface RunResult {
  variant: Variant;
  run: number;
  streams: number;
  cpu: number;
  rssMb: number;
  rssMeanMb: number;
  /** What the server wrote to storage over the window, MB (/proc/PID/io write_bytes). */
  writtenMb: number;
  publisherCpu: number;
  hostBusy: number;
  seconds: number;
  /** Streams answering HTTP-FLV before and after the window. */
  publishedBefore: number;
  publishedAfter: number;
  /** HLS variants: streams with a playlist of segments at the end; segments cut in the window. */
  withPlaylist: number;
  segmentsInWindow: { min: number; median: number; max: number } | null;
  maxExtinf: number;
  /** Segments listed at the end, all streams; those fetched with 200 and TS bytes; on disk. */
  segmentsListed: number;
  segmentsServed: number;
  segmentsOnDisk: number;
  /** .ts files under hls_path at the end (memory: must be 0). */
  tsFilesUnderPath: number;
  probe: ProbeResult | null;
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hlsBlock(v: Variant, o: Options, hlsPath: string): string {
  if (v === "off") return "";
  return `hls { enabled on; hls_fragment ${o.fragment}; hls_window ${o.hlsWindow}; hls_path ${hlsPath};${v === "memory" ? " hls_storage memory;" : ""} }`;
}

function countTsFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith(".ts")) n++;
  return n;
}

async function runVariant(variant: Variant, run: number, o: Options, media: string): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-hls-${variant}-`));
  const hlsPath = path.join(dir, "hls");
  mkdirSync(hlsPath);
  let server: RunningPeer | undefined;
  const pubs: ChildProcess[] = [];
  const problems: string[] = [];
  const names = Array.from({ length: o.streams }, (_, i) => `s${i + 1}`);
  try {
    server = await startSluice(dir, { httpFlv: true, vhost: hlsBlock(variant, o, hlsPath) });
    const base = `http://127.0.0.1:${server.httpPort}`;
    // Group g publishes streams g, g+P, g+2P, ...; its start is g/P of a fragment later.
    for (let g = 0; g < o.publishers; g++) {
      const outs = names.filter((_, i) => i % o.publishers === g).map((n) => `[f=flv:onfail=ignore]rtmp://127.0.0.1:${server!.port}/live/${n}`);
      const p = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", media, "-map", "0", "-c", "copy", "-f", "tee", outs.join("|")], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      p.stderr?.on("data", (d: Buffer) => {
        if (problems.length < 20) problems.push(`publisher ${g}: ${d.toString().trim().slice(0, 200)}`);
      });
      pubs.push(p);
      await sleep((o.fragment * 1000) / o.publishers);
    }
    await sleep(o.warmup * 1000);

    const publishedBefore = (await Promise.all(names.map((n) => isPublished(base, n)))).filter(Boolean).length;
    const before = variant === "off" ? [] : await Promise.all(names.map((n) => fetchPlaylist(base, n)));
    const written0 = writeBytes(server.pid);
    const pids: Record<string, number> = { server: server.pid };
    pubs.forEach((p, i) => (pids[`pub${i}`] = p.pid!));
    const w = await sampleWindow(pids, o.window);
    const written1 = writeBytes(server.pid);
    const after = variant === "off" ? [] : await Promise.all(names.map((n) => fetchPlaylist(base, n)));
    const publishedAfter = (await Promise.all(names.map((n) => isPublished(base, n)))).filter(Boolean).length;
    for (const [i, p] of pubs.entries()) if (p.exitCode !== null) problems.push(`publisher ${i} exited with ${p.exitCode}`);

    let withPlaylist = 0;
    const cut: number[] = [];
    let maxExtinf = 0;
    let segmentsListed = 0;
    let segmentsServed = 0;
    let segmentsOnDisk = 0;
    let probeResult: ProbeResult | null = null;
    if (variant !== "off") {
      for (const [i, n] of names.entries()) {
        const a = after[i];
        const b = before[i];
        if (!a || a.segments.length === 0) {
          problems.push(`${n}: no playlist with segments at the end`);
          continue;
        }
        withPlaylist++;
        // Segments cut in the window: how far the end of the playlist moved.
        if (b) cut.push(a.mediaSequence + a.segments.length - (b.mediaSequence + b.segments.length));
        else problems.push(`${n}: no playlist at the window's start`);
        for (const s of a.segments) {
          segmentsListed++;
          maxExtinf = Math.max(maxExtinf, s.duration);
          const url = new URL(s.uri, `${base}/live/${n}.m3u8`);
          try {
            const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
            const body = Buffer.from(await r.arrayBuffer());
            if (r.status === 200 && body.length >= 188 && body.length % 188 === 0 && body[0] === 0x47) segmentsServed++;
            else problems.push(`${url.pathname}: status ${r.status}, ${body.length} bytes`);
          } catch (err) {
            problems.push(`${url.pathname}: ${err instanceof Error ? err.message : String(err)}`);
          }
          if (variant === "disk") {
            const file = path.join(hlsPath, url.pathname);
            if (existsSync(file) && statSync(file).size > 0) segmentsOnDisk++;
          }
        }
      }
      // The newest complete segment of the first stream that has one.
      const i = after.findIndex((p) => p && p.segments.length > 0);
      const last = i >= 0 ? after[i]!.segments.at(-1) : undefined;
      if (last) {
        const url = new URL(last.uri, `${base}/live/${names[i]}.m3u8`);
        probeResult = probe(variant === "disk" ? path.join(hlsPath, url.pathname) : url.href, o.fragment);
        probeResult.detail = `${url.pathname}: ${probeResult.detail}`;
      } else probeResult = { ok: false, detail: "no segment to probe" };
    }
    cut.sort((x, y) => x - y);
    return {
      variant,
      run,
      streams: o.streams,
      cpu: w.cpu["server"]!,
      rssMb: w.rssPeak["server"]!,
      rssMeanMb: w.rssMean["server"]!,
      writtenMb: (written1 - written0) / 1e6,
      publisherCpu: Object.entries(w.cpu)
        .filter(([k]) => k.startsWith("pub"))
        .reduce((a, [, c]) => a + c, 0),
      hostBusy: w.hostBusy,
      seconds: w.seconds,
      publishedBefore,
      publishedAfter,
      withPlaylist,
      segmentsInWindow: cut.length ? { min: cut[0]!, median: cut[cut.length >> 1]!, max: cut.at(-1)! } : null,
      maxExtinf,
      segmentsListed,
      segmentsServed,
      segmentsOnDisk,
      tsFilesUnderPath: countTsFiles(hlsPath),
      probe: probeResult,
      problems,
    };
  } finally {
    for (const p of pubs) if (p.exitCode === null) p.kill("SIGKILL");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function table(results: RunResult[]): string {
  const rows = [
    "| HLS | run | server CPU % (1 core) | RSS MB peak (mean) | written MB | publishers CPU % | host busy % | published (before/after) | playlists | segments cut per stream in window (min/median/max) | max EXTINF s | segments served / listed | on disk | ffprobe |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const seg = r.segmentsInWindow ? `${r.segmentsInWindow.min} / ${r.segmentsInWindow.median} / ${r.segmentsInWindow.max}` : "-";
    rows.push(
      `| ${r.variant} | ${r.run + 1} | ${fmt(r.cpu)} | ${fmt(r.rssMb, 0)} (${fmt(r.rssMeanMb, 0)}) | ${fmt(r.writtenMb)} | ${fmt(r.publisherCpu)} | ${fmt(r.hostBusy)} | ${r.publishedBefore}/${r.publishedAfter} of ${r.streams} | ${r.variant === "off" ? "-" : `${r.withPlaylist} of ${r.streams}`} | ${seg} | ${r.variant === "off" ? "-" : fmt(r.maxExtinf, 2)} | ${r.variant === "off" ? "-" : `${r.segmentsServed} / ${r.segmentsListed}`} | ${r.variant === "disk" ? r.segmentsOnDisk : r.variant === "memory" ? `${r.tsFilesUnderPath} .ts files` : "-"} | ${r.probe ? `${r.probe.ok ? "ok" : "FAIL"}: ${r.probe.detail}` : "-"} |`,
    );
  }
  return rows.join("\n");
}

function summary(results: RunResult[], o: Options): string {
  const rows = ["| HLS | runs | server CPU % median (min-max) | RSS MB median (min-max) | CPU % over HLS off (median) | per stream | written MB median |", "|---|---|---|---|---|---|---|"];
  const off = median(results.filter((r) => r.variant === "off").map((r) => r.cpu));
  for (const v of o.variants) {
    const g = results.filter((r) => r.variant === v);
    if (g.length === 0) continue;
    const cpu = median(g.map((r) => r.cpu));
    const extra = v === "off" ? NaN : cpu - off;
    rows.push(
      `| ${v} | ${g.length} | ${fmt(cpu)} (${fmt(Math.min(...g.map((r) => r.cpu)))}-${fmt(Math.max(...g.map((r) => r.cpu)))}) | ${fmt(median(g.map((r) => r.rssMb)), 0)} (${fmt(Math.min(...g.map((r) => r.rssMb)), 0)}-${fmt(Math.max(...g.map((r) => r.rssMb)), 0)}) | ${v === "off" ? "-" : (extra >= 0 ? "+" : "") + fmt(extra)} | ${v === "off" ? "-" : fmt(extra / o.streams, 2)} | ${fmt(median(g.map((r) => r.writtenMb)))} |`,
    );
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
  // Segments a stream must have cut in the window: all but one of window / fragment.
  const expected = Math.floor(o.window / o.fragment) - 1;
  for (const r of results) {
    const tag = `${r.variant} (run ${r.run + 1})`;
    out.push({ name: `${tag}: every stream published throughout`, pass: r.publishedBefore === r.streams && r.publishedAfter === r.streams, detail: `${r.publishedBefore} before, ${r.publishedAfter} after the window, of ${r.streams}` });
    if (r.variant === "off") continue;
    out.push({ name: `${tag}: every stream has a playlist with segments`, pass: r.withPlaylist === r.streams, detail: `${r.withPlaylist} of ${r.streams}` });
    out.push({
      name: `${tag}: every stream cut >= ${expected} segments in the ${o.window} s window`,
      pass: (r.segmentsInWindow?.min ?? 0) >= expected && r.segmentsInWindow !== null,
      detail: r.segmentsInWindow ? `min ${r.segmentsInWindow.min}, median ${r.segmentsInWindow.median}, max ${r.segmentsInWindow.max}` : "none",
    });
    out.push({ name: `${tag}: every listed segment is served as TS`, pass: r.segmentsListed > 0 && r.segmentsServed === r.segmentsListed, detail: `${r.segmentsServed} of ${r.segmentsListed}` });
    if (r.variant === "disk") out.push({ name: `${tag}: every listed segment is on disk`, pass: r.segmentsOnDisk === r.segmentsListed, detail: `${r.segmentsOnDisk} of ${r.segmentsListed}` });
    if (r.variant === "memory") out.push({ name: `${tag}: nothing under hls_path`, pass: r.tsFilesUnderPath === 0, detail: `${r.tsFilesUnderPath} .ts files` });
    out.push({ name: `${tag}: ffprobe reads a segment`, pass: r.probe?.ok === true, detail: r.probe?.detail ?? "-" });
  }
  return out;
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const media = await testMedia("h264-aac-500k");
  const r0 = spawnSync("ffprobe", ["-v", "error", "-show_format", "-of", "json", media], { encoding: "utf8" });
  const kbps = Number((JSON.parse(r0.stdout || "{}") as { format?: { bit_rate?: string } }).format?.bit_rate ?? 0) / 1000;
  const load0 = readFileSync("/proc/loadavg", "utf8").trim();
  process.stdout.write(
    `stream: ${media} (${fmt(kbps, 0)} kbps) x ${o.streams}; variants ${o.variants.join(", ")}; window ${o.window} s; ${o.publishers} ffmpeg publishers (tee); runs ${o.runs}; load average ${load0}\n`,
  );
  const results: RunResult[] = [];
  for (let run = 0; run < o.runs; run++) {
    for (const v of o.variants) {
      const r = await runVariant(v, run, o, media);
      results.push(r);
      process.stdout.write(
        `${v} run ${run + 1}: server CPU ${fmt(r.cpu)} %, RSS ${fmt(r.rssMb, 0)} MB, written ${fmt(r.writtenMb)} MB, publishers ${fmt(r.publisherCpu)} %, host ${fmt(r.hostBusy)} %, published ${r.publishedBefore}/${r.publishedAfter}` +
          (v === "off" ? "" : `, playlists ${r.withPlaylist}, segments/stream ${r.segmentsInWindow ? r.segmentsInWindow.median : "-"}, served ${r.segmentsServed}/${r.segmentsListed}, ffprobe ${r.probe?.ok ? "ok" : "FAIL"}`) +
          "\n",
      );
      for (const p of r.problems.slice(0, 5)) process.stdout.write(`  ${p}\n`);
    }
  }
  const load1 = readFileSync("/proc/loadavg", "utf8").trim();
  const v = verdicts(results, o);
  const md = [
    `# HLS capacity benchmark, ${new Date().toISOString()}`,
    "",
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${fmt(os.totalmem() / 2 ** 30, 0)} GiB; node ${process.version}; load average at the start ${load0}, at the end ${load1}.`,
    `${o.streams} streams, each the ${fmt(kbps, 0)} kbps H.264+AAC test file (25 fps, 2 s GOP) published over RTMP by ${o.publishers} ffmpeg processes (\`-re -stream_loop -1 -c copy -f tee\`, ${Math.ceil(o.streams / o.publishers)} outputs each, starts spread over ${o.fragment} s): ${fmt((o.streams * kbps) / 1000)} Mbps in. HLS: \`hls_fragment ${o.fragment}; hls_window ${o.hlsWindow};\`, disk = hls_path under ${os.tmpdir()}, memory = \`hls_storage memory;\`; off = the same streams without hls { }. http_server and http_remux on in every variant (idle). Window ${o.window} s after ${o.warmup} s of warm-up; no player during it.`,
    "CPU is utime+stime of the server process in % of one core; written MB is its /proc/PID/io write_bytes over the window (bytes it sent towards storage, counted when it dirtied the page cache). Publishers' CPU is all ffmpeg processes together. Host busy is all cores together (100 % = both busy).",
    "",
    table(results),
    "",
    summary(results, o),
    "",
    ...v.map((x) => `- ${x.pass ? "PASS" : "FAIL"} ${x.name}: ${x.detail}`),
    "",
  ].join("\n");
  process.stdout.write("\n" + md);
  const dir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(path.join(dir, `hls-capacity-${stamp}.json`), JSON.stringify({ options: o, kbps, loadAverage: { start: load0, end: load1 }, results, verdicts: v }, null, 2));
  writeFileSync(path.join(dir, `hls-capacity-${stamp}.md`), md);
  return v.every((x) => x.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
