/**
 * `sluice-load` in HTTP-FLV mode (an http:// URL) against small servers in this file: a
 * live FLV stream paced in real time over chunked encoding (Node's http), the same as an
 * identity body with Connection: close, a 404, and servers that send garbage. Then its
 * parser on bytes alone (`sluice_load --parse-http-flv FILE`), checked against this
 * repository's test FLV reader (test/support/flv.ts), not against itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import http from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { testMedia } from "../support/fixtures.js";
import { isAudioFrame, isVideoFrame, parseFlv, type FlvTag } from "../support/flv.js";
import { REPO_ROOT } from "../support/server.js";
import { collectLines, spawnTracked, tail } from "../support/procs.js";

const EXE = path.join(REPO_ROOT, "build", "Release", "sluice_load");
const CLI = path.join(REPO_ROOT, "bin", "sluice-load.js");

interface LoadReport {
  url: string;
  protocol: string;
  players: { requested: number; started: number; playing: number; failed: number };
  failures: Record<string, number>;
  window: { start: number; end: number; seconds: number } | null;
  mbps: number | null;
  kbps: { min: number; median: number; max: number } | null;
  fps: { min: number; median: number; max: number } | null;
  audioPerSecond: { min: number; median: number; max: number } | null;
  firstMediaMs: { median: number; p95: number; max: number } | null;
  framesLost: number;
  worstVideoStepMs: number;
  perPlayer: Array<{ video: number; audio: number; bytes: number; framesLost: number; failure: string | null }>;
}

// ---- the test stream -----------------------------------------------------------------

/** One tag of the fixture as it goes on the wire: header, data and PreviousTagSize. */
interface WireTag {
  tag: FlvTag;
  bytes: Buffer;
}

interface TestStream {
  file: Buffer;
  tags: FlvTag[];
  /** FLV header, PreviousTagSize0, onMetaData and the sequence headers: sent once, at once. */
  prelude: Buffer;
  /** Audio and video frames, in file order; looped, with timestamps moved on by `period`. */
  frames: WireTag[];
  period: number;
}

let stream: TestStream;
let tmp: string;

function wireTag(file: Buffer, tag: FlvTag): Buffer {
  return file.subarray(tag.offset, tag.offset + 11 + tag.size + 4);
}

async function loadStream(): Promise<TestStream> {
  const media = await testMedia("h264-aac");
  const file = await readFile(media);
  const flv = parseFlv(file); // throws unless the fixture is FLV (ffmpeg -f flv makes it so)
  const isFrame = (t: FlvTag) => isVideoFrame(t) || isAudioFrame(t);
  const preludeTags = flv.tags.filter((t) => t.type === "script" || t.isSequenceHeader);
  const frames = flv.tags.filter(isFrame).map((tag) => ({ tag, bytes: wireTag(file, tag) }));
  const video = frames.filter((f) => f.tag.type === "video");
  const prelude = Buffer.concat([file.subarray(0, flv.header.dataOffset + 4), ...preludeTags.map((t) => wireTag(file, t))]);
  // The next loop starts one video frame step (40 ms) after the last frame.
  const period = video[video.length - 1]!.tag.timestamp + (video[1]!.tag.timestamp - video[0]!.tag.timestamp);
  return { file, tags: flv.tags, prelude, frames, period };
}

/** A copy of `bytes` (one wire tag) with its timestamp set to `ts` (24 bits + extended byte). */
function retimed(bytes: Buffer, ts: number): Buffer {
  const b = Buffer.from(bytes);
  b.writeUIntBE(ts & 0xffffff, 4, 3);
  b.writeUInt8((ts >>> 24) & 0xff, 7);
  return b;
}

/** What one connection was sent: frames, as sluice-load counts them. */
interface Sent {
  video: number;
  audio: number;
  closed: Promise<void>;
}

/**
 * Streams the test stream live to `write`: the prelude at once, then each frame when its
 * timestamp is due (looping the file), until stop() or the connection closes. Each tag
 * goes out in two writes split at an odd place, so that over chunked encoding tags span
 * HTTP chunks.
 */
function streamLive(write: (b: Buffer) => void, onClose: (cb: () => void) => void): Sent {
  let resolveClosed!: () => void;
  const sent: Sent = { video: 0, audio: 0, closed: new Promise((r) => (resolveClosed = r)) };
  write(stream.prelude);
  const t0 = Date.now();
  let i = 0;
  let loop = 0;
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    for (;;) {
      const f = stream.frames[i]!;
      const ts = f.tag.timestamp + loop * stream.period;
      if (ts > elapsed) break;
      const bytes = loop === 0 ? f.bytes : retimed(f.bytes, ts);
      const split = Math.min(bytes.length - 1, 7 + (i % 13));
      write(bytes.subarray(0, split));
      write(bytes.subarray(split));
      if (f.tag.type === "video") sent.video++;
      else sent.audio++;
      if (++i === stream.frames.length) {
        i = 0;
        loop++;
      }
    }
  }, 10);
  onClose(() => {
    clearInterval(timer);
    resolveClosed();
  });
  return sent;
}

// ---- servers -----------------------------------------------------------------------------

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

/** An HTTP server (Node's http: chunked bodies when no Content-Length is set). */
async function httpServer(handler: http.RequestListener): Promise<{ port: number; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const port = await listen(server);
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port, requests };
}

/** A TCP server that reads the request head, then hands the socket to `respond`. */
async function rawServer(respond: (socket: net.Socket, requestHead: string) => void): Promise<{ port: number; heads: string[] }> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      heads.push(head.slice(0, end + 4));
      respond(socket, head.slice(0, end + 4));
    };
    socket.on("data", onData);
  });
  const port = await listen(server);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port, heads };
}

// ---- running sluice-load -------------------------------------------------------------------

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  report: LoadReport;
}

async function runLoad(args: string[]): Promise<Run> {
  const json = path.join(tmp, `load-${Math.random().toString(36).slice(2)}.json`);
  const entry = spawnTracked(process.execPath, [CLI, ...args, "--json", json], { cwd: REPO_ROOT, name: "sluice-load" });
  const lines: string[] = [];
  entry.logs = lines;
  collectLines(entry.proc.stdout, lines);
  collectLines(entry.proc.stderr, lines);
  await entry.exited;
  const report = JSON.parse(await readFile(json, "utf8")) as LoadReport;
  return { code: entry.proc.exitCode, signal: entry.proc.signalCode, lines, report };
}

/**
 * The frames a player may miss at the end: those written between the load generator's
 * close and the server's noticing it (a few on a quiet machine, up to half a second's
 * worth on a busy one: 25 fps video, ~43 audio frames a second). A parser that loses
 * frames mid-stream shows in framesLost (timestamp steps), which the tests also check.
 */
const VIDEO_SLACK = 13;
const AUDIO_SLACK = 22;

/**
 * Each player got every frame its connection was sent, but for the last few in flight when
 * it closed. Players and connections are not paired by name, so both lists are sorted: if
 * some pairing is within [0, slack], the sorted one is too.
 */
function expectCountsMatch(players: LoadReport["perPlayer"], sent: Sent[], kind: "video" | "audio", slack: number): void {
  const got = players.map((p) => p[kind]).sort((a, b) => a - b);
  const put = sent.map((s) => s[kind]).sort((a, b) => a - b);
  expect(got).toHaveLength(put.length);
  for (let i = 0; i < got.length; i++) {
    expect(got[i], `${kind} #${i}: got ${got.join(",")} of ${put.join(",")}`).toBeLessThanOrEqual(put[i]!);
    expect(put[i]! - got[i]!, `${kind} #${i}: got ${got.join(",")} of ${put.join(",")}`).toBeLessThanOrEqual(slack);
  }
}

beforeAll(async () => {
  stream = await loadStream();
  tmp = await mkdtemp(path.join(os.tmpdir(), "sluice-load-http-flv-"));
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("sluice-load over HTTP-FLV", () => {
  it("plays 20 players of a chunked live stream and counts every frame sent", async () => {
    const sent: Sent[] = [];
    const { port, requests } = await httpServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "video/x-flv" });
      sent.push(streamLive((b) => res.write(b), (cb) => res.on("close", cb)));
    });
    const url = `http://127.0.0.1:${port}/live/s.flv?token=1`;
    // The URL as the one bare argument and -n, as well as -u and -c (load.test.ts).
    const r = await runLoad([url, "-n", "20", "-r", "100", "-d", "3", "--settle", "0.5"]);
    expect(r.code, tail(r.lines, 40)).toBe(0);
    await Promise.all(sent.map((s) => s.closed));

    for (const req of requests) {
      expect(req.method).toBe("GET");
      expect(req.url).toBe("/live/s.flv?token=1");
      expect(req.httpVersion).toBe("1.1");
      expect(req.headers).toEqual({ host: `127.0.0.1:${port}`, "user-agent": "sluice-load", accept: "*/*" });
    }
    expect(r.lines.some((l) => /^\[t=\d+s\] connected=20 playing=20 failed=0 Mbps=[\d.]+ \(recv\)$/.test(l))).toBe(true);
    expect(r.lines).toContain(`sluice-load summary: ${url}`);
    expect(r.lines).toContain("  protocol       http-flv");
    expect(r.lines.some((l) => /players\s+20 requested, 20 started, 20 playing at the end, 0 failed/.test(l))).toBe(true);

    const rep = r.report;
    expect(rep.protocol).toBe("http-flv");
    expect(rep.url).toBe(url);
    expect(rep.players).toEqual({ requested: 20, started: 20, playing: 20, failed: 0 });
    expect(rep.failures).toEqual({});
    expect(rep.window!.seconds).toBeCloseTo(3, 1);
    expect(rep.fps!.min).toBeGreaterThanOrEqual(24);
    expect(rep.fps!.max).toBeLessThanOrEqual(26);
    expect(rep.audioPerSecond!.min).toBeGreaterThan(40);
    expect(rep.kbps!.min).toBeGreaterThan(0);
    expect(rep.mbps).toBeGreaterThan(0);
    expect(rep.framesLost).toBe(0);
    expect(rep.worstVideoStepMs).toBe(40);
    expect(rep.firstMediaMs!.max).toBeLessThan(2000);
    expect(rep.perPlayer).toHaveLength(20);
    expect(sent).toHaveLength(20);
    expectCountsMatch(rep.perPlayer, sent, "video", VIDEO_SLACK);
    expectCountsMatch(rep.perPlayer, sent, "audio", AUDIO_SLACK);
    for (const p of rep.perPlayer) {
      expect(p.failure).toBeNull();
      expect(p.video).toBeGreaterThan(3 * 25);
    }
  });

  it("reads an identity body (no chunked framing, Connection: close)", async () => {
    const sent: Sent[] = [];
    const { port, heads } = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\nCache-Control: no-cache\r\n\r\n");
      sent.push(streamLive((b) => socket.write(b), (cb) => socket.on("close", cb)));
    });
    const url = `http://127.0.0.1:${port}/live/s.flv`;
    const r = await runLoad(["-u", url, "-c", "5", "-r", "100", "-d", "2", "--settle", "0.3", "--quiet"]);
    expect(r.code, tail(r.lines, 40)).toBe(0);
    await Promise.all(sent.map((s) => s.closed));
    expect(heads[0]).toBe(`GET /live/s.flv HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: sluice-load\r\nAccept: */*\r\n\r\n`);
    expect(r.report.players).toEqual({ requested: 5, started: 5, playing: 5, failed: 0 });
    expect(r.report.fps!.min).toBeGreaterThanOrEqual(24);
    expect(r.report.framesLost).toBe(0);
    expectCountsMatch(r.report.perPlayer, sent, "video", VIDEO_SLACK);
    expectCountsMatch(r.report.perPlayer, sent, "audio", AUDIO_SLACK);
  });

  it("counts a 404 as a failure with the status in the reason", async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("no such stream\n");
    });
    const r = await runLoad(["-u", `http://127.0.0.1:${port}/live/none.flv`, "-c", "3", "-r", "100", "-d", "1", "--quiet"]);
    expect(r.signal).toBeNull();
    expect(r.code, tail(r.lines, 40)).toBe(1);
    expect(r.report.players).toEqual({ requested: 3, started: 3, playing: 0, failed: 3 });
    expect(r.report.failures).toEqual({ "HTTP status 404 (Not Found)": 3 });
    expect(r.lines).toContain("  failed         3: HTTP status 404 (Not Found)");
  });

  const flvHeader = Buffer.from("464c5601050000000900000000", "hex");
  const garbage: Array<{ what: string; reply: Buffer; reason: RegExp }> = [
    {
      what: "a body that is not FLV",
      reply: Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n<html>hello</html>\n\r\n"),
      reason: /^protocol error: ERR_FLV \(the body is not FLV: it starts with "<ht"\)$/,
    },
    {
      what: "a chunk size line over 64 bytes",
      reply: Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${"0".repeat(100)}d\r\n`),
      reason: /^protocol error: ERR_HTTP_CHUNKED \(a chunk size line over 64 bytes: "0{16}\.\.\."\)$/,
    },
    {
      what: "a chunk over 64 MiB",
      reply: Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000001\r\nFLV"),
      reason: /^protocol error: ERR_HTTP_CHUNKED \(a chunk of more than 64 MiB/,
    },
    {
      what: "an FLV tag of 0xFFFFFF bytes",
      reply: Buffer.concat([
        Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\n\r\n"),
        flvHeader,
        Buffer.from("09ffffff00000000000000", "hex"),
        Buffer.alloc(4096, 0x27),
      ]),
      reason: /^protocol error: ERR_FLV \(an FLV tag of 16777215 bytes, over the limit of 8388608\)$/,
    },
    {
      what: "a response head over 16 KiB",
      reply: Buffer.from(`HTTP/1.1 200 OK\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`),
      reason: /^protocol error: ERR_HTTP_RESPONSE \(the response head is over 16384 bytes\)$/,
    },
    {
      what: "no HTTP at all (an RTMP server's S0)",
      reply: Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 0x5a)]),
      reason: /^protocol error: ERR_HTTP_RESPONSE \(not an HTTP response: it starts with "\\x03ZZZZ"\)$/,
    },
  ];

  it.each(garbage)("fails every player, with a reason, on $what", async ({ reply, reason }) => {
    // The connection stays open after the reply: the parser, not a close, must end it.
    const { port } = await rawServer((socket) => socket.write(reply));
    const r = await runLoad(["-u", `http://127.0.0.1:${port}/live/s.flv`, "-c", "3", "-r", "100", "-d", "1", "--timeout", "3", "--quiet"]);
    expect(r.signal).toBeNull();
    expect(r.code, tail(r.lines, 40)).toBe(1);
    expect(r.lines.some((l) => l.startsWith("sluice-load summary: "))).toBe(true);
    expect(r.report.players.failed).toBe(3);
    const reasons = Object.keys(r.report.failures);
    expect(reasons, JSON.stringify(r.report.failures)).toHaveLength(1);
    expect(reasons[0]).toMatch(reason);
  });

  it("ends a player whose server ends the body, and one that never answers", async () => {
    const ended = await httpServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "video/x-flv" });
      res.end(stream.prelude);
    });
    let r = await runLoad(["-u", `http://127.0.0.1:${ended.port}/s.flv`, "-c", "2", "-d", "1", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.report.failures).toEqual({ "stream ended by server (end of the HTTP body)": 2 });

    const silent = await rawServer(() => undefined);
    r = await runLoad(["-u", `http://127.0.0.1:${silent.port}/s.flv`, "-c", "2", "-d", "1", "--timeout", "0.5", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.report.failures).toEqual({ "no answer to the HTTP request within 0.5 s": 2 });
  });
});

// ---- the parser on bytes alone ---------------------------------------------------------

interface ParseEvent {
  response?: { status: number; reason: string; chunked: boolean; contentLength: number | null };
  flvHeader?: { version: number; flags: number; headerSize: number };
  tag?: { type: number; timestamp: number; streamId: number; size: number; frame: boolean };
  end?: { bodyBytes: number };
  error?: string;
  message?: string;
}

let fileNo = 0;

/** What `sluice_load --parse-http-flv` makes of `data`, fed in `pieceSize` pieces. */
async function parseHttpFlv(data: Buffer, pieceSize = 7, extra: string[] = []): Promise<{ code: number; events: ParseEvent[] }> {
  const file = path.join(tmp, `response-${fileNo++}.bin`);
  await writeFile(file, data);
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(EXE, ["--parse-http-flv", file, "--piece-size", String(pieceSize), ...extra], { timeout: 20_000, maxBuffer: 64 << 20 }, (err, out) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout: out });
    });
  });
  const events = stdout.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as ParseEvent);
  return { code, events };
}

/** The fixture's tags as the parser should report them. */
function expectedTags(tags: readonly FlvTag[]) {
  return tags.map((t) => ({ type: t.typeId, timestamp: t.timestamp, streamId: 0, size: t.size, frame: isVideoFrame(t) || isAudioFrame(t) }));
}

/** `body` as a chunked body with chunks of 1..max bytes, mixed-case hex and extensions. */
function chunked(body: Buffer, max: number): Buffer {
  const parts: Buffer[] = [];
  let seed = 7;
  for (let at = 0, k = 0; at < body.length; k++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = Math.min(body.length - at, 1 + (seed % max));
    const size = k % 2 ? n.toString(16).toUpperCase() : n.toString(16);
    const ext = ["", ";name=value", " ;x", ';q="a b"'][k % 4];
    parts.push(Buffer.from(`${size}${ext}\r\n`), body.subarray(at, at + n), Buffer.from("\r\n"));
    at += n;
  }
  parts.push(Buffer.from("0;end\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"));
  return Buffer.concat(parts);
}

describe("sluice_load --parse-http-flv", () => {
  it.each([1, 7, 65536])("reads every tag of a chunked response, fed in %i-byte pieces", async (pieceSize) => {
    const head = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n");
    const { code, events } = await parseHttpFlv(Buffer.concat([head, chunked(stream.file, 3000)]), pieceSize);
    expect(code).toBe(0);
    expect(events[0]).toEqual({ response: { status: 200, reason: "OK", chunked: true, contentLength: null } });
    expect(events[1]).toEqual({ flvHeader: { version: 1, flags: 5, headerSize: 9 } });
    const tags = events.filter((e) => e.tag).map((e) => e.tag);
    expect(tags).toEqual(expectedTags(stream.tags));
    // The frames a player counts are the file's frames.
    expect(tags.filter((t) => t!.frame && t!.type === 9)).toHaveLength(stream.frames.filter((f) => f.tag.type === "video").length);
    expect(tags.filter((t) => t!.frame && t!.type === 8)).toHaveLength(stream.frames.filter((f) => f.tag.type === "audio").length);
    expect(events[events.length - 1]).toEqual({ end: { bodyBytes: stream.file.length } });
  });

  it("reads an identity body up to Content-Length after an interim 100, and ignores what follows", async () => {
    const head = Buffer.from(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: ${stream.file.length}\r\n\r\n`);
    const { code, events } = await parseHttpFlv(Buffer.concat([head, stream.file, Buffer.from("garbage after the body")]));
    expect(code).toBe(0);
    expect(events[0]).toEqual({ response: { status: 200, reason: "OK", chunked: false, contentLength: stream.file.length } });
    expect(events.filter((e) => e.tag).map((e) => e.tag)).toEqual(expectedTags(stream.tags));
    expect(events[events.length - 1]).toEqual({ end: { bodyBytes: stream.file.length } });
  });

  it("reads an identity body until the end of the data, with bare LF line ends and a longer FLV header", async () => {
    const header = Buffer.from("464c560105000000100102030405060700000000", "hex"); // DataOffset 16
    const body = Buffer.concat([header, stream.file.subarray(13)]);
    const { code, events } = await parseHttpFlv(Buffer.concat([Buffer.from("HTTP/1.0 200 OK\nConnection: close\n\n"), body]));
    expect(code).toBe(0);
    expect(events[1]).toEqual({ flvHeader: { version: 1, flags: 5, headerSize: 16 } });
    expect(events.filter((e) => e.tag).map((e) => e.tag)).toEqual(expectedTags(stream.tags));
    expect(events.some((e) => e.end)).toBe(false); // until close: no end in the data
  });

  it("stops at a non-2xx status and reports it", async () => {
    const { code, events } = await parseHttpFlv(Buffer.from("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy!"));
    expect(code).toBe(0);
    expect(events).toEqual([{ response: { status: 503, reason: "Service Unavailable", chunked: false, contentLength: null } }]);
  });

  const ok = "HTTP/1.1 200 OK\r\n";
  const flv = "464c5601050000000900000000";
  const errors: Array<{ what: string; data: Buffer; code: string; message: RegExp; args?: string[] }> = [
    { what: "a bad status code", data: Buffer.from("HTTP/1.1 2OO OK\r\n\r\n"), code: "ERR_HTTP_RESPONSE", message: /^bad status line "HTTP\/1.1 2OO OK"$/ },
    { what: "an HTTP/2 status line", data: Buffer.from("HTTP/2 200\r\n\r\n"), code: "ERR_HTTP_RESPONSE", message: /^bad status line/ },
    { what: "a header name with a space", data: Buffer.from(`${ok}Bad Name: 1\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^bad header field name "Bad Name"$/ },
    { what: "a header line without a colon", data: Buffer.from(`${ok}nocolon\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^bad header field "nocolon"$/ },
    { what: "a NUL in a header", data: Buffer.from(`${ok}X-A: a\0b\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /control character/ },
    { what: "conflicting Content-Length", data: Buffer.from(`${ok}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^conflicting Content-Length "5,6"$/ },
    { what: "a negative Content-Length", data: Buffer.from(`${ok}Content-Length: -1\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^bad Content-Length "-1"$/ },
    { what: "a gzip transfer coding", data: Buffer.from(`${ok}Transfer-Encoding: gzip, chunked\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^Transfer-Encoding "gzip, chunked" is not supported$/ },
    { what: "a gzip content coding", data: Buffer.from(`${ok}Content-Encoding: gzip\r\n\r\n`), code: "ERR_HTTP_RESPONSE", message: /^Content-Encoding "gzip" is not supported/ },
    { what: "a chunk size that is not hex", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\nzz\r\n`), code: "ERR_HTTP_CHUNKED", message: /^bad chunk size line "zz"$/ },
    { what: "an empty chunk size line", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\n\r\n`), code: "ERR_HTTP_CHUNKED", message: /^bad chunk size line ""$/ },
    { what: "a chunk size line of 65 bytes", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\n1;${"x".repeat(63)}\r\n`), code: "ERR_HTTP_CHUNKED", message: /^a chunk size line over 64 bytes: "1;x{14}\.\.\."$/ },
    { what: "a chunk size of 2^64", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n`), code: "ERR_HTTP_CHUNKED", message: /^a chunk of more than 64 MiB/ },
    { what: "chunk data longer than its size", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\n2\r\nFLV\r\n`), code: "ERR_HTTP_CHUNKED", message: /^chunk data is longer than its size/ },
    { what: "a trailer section over 16 KiB", data: Buffer.from(`${ok}Transfer-Encoding: chunked\r\n\r\n0\r\nX: ${"t".repeat(17_000)}\r\n\r\n`), code: "ERR_HTTP_CHUNKED", message: /^the trailer section is over 16384 bytes$/ },
    { what: "an FLV header size of 8", data: Buffer.concat([Buffer.from(`${ok}\r\n`), Buffer.from("464c56010500000008", "hex")]), code: "ERR_FLV", message: /^FLV header size 8 \(DataOffset must be 9\.\.65536\)$/ },
    { what: "a tag type of 7", data: Buffer.concat([Buffer.from(`${ok}\r\n`), Buffer.from(`${flv}07000001000000000000000000000000`, "hex")]), code: "ERR_FLV", message: /^FLV tag type 7 is not audio/ },
    { what: "an encrypted tag", data: Buffer.concat([Buffer.from(`${ok}\r\n`), Buffer.from(`${flv}29000001000000000000000000000000`, "hex")]), code: "ERR_FLV", message: /^an encrypted FLV tag/ },
    { what: "a tag over --max-tag-size", data: Buffer.concat([Buffer.from(`${ok}\r\n`), Buffer.from(`${flv}09000401000000000000000000000000`, "hex")]), code: "ERR_FLV", message: /^an FLV tag of 1025 bytes, over the limit of 1024$/, args: ["--max-tag-size", "1024"] },
    { what: "a wrong PreviousTagSize", data: Buffer.concat([Buffer.from(`${ok}\r\n`), Buffer.from(`${flv}0800000100000000000000af0000000b`, "hex")]), code: "ERR_FLV", message: /^PreviousTagSize 11 after a tag of 11 \+ 1 bytes$/ },
  ];

  it.each(errors)("fails with $code on $what", async ({ data, code, message, args }) => {
    for (const pieceSize of [1, 7, 4096]) {
      const r = await parseHttpFlv(data, pieceSize, args ?? []);
      expect(r.code).toBe(1);
      const last = r.events[r.events.length - 1]!;
      expect(last.error).toBe(code);
      expect(last.message).toMatch(message);
    }
  });
});
