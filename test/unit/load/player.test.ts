/**
 * The load generator's players against a scripted RTMP server (our handshake, chunk
 * codec and AMF0, no app layer): what they send (connect object, createStream, play,
 * SetBufferLength, acknowledgements, ping responses) and how they count and fail.
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createChunkDecoder, encodeChunks, type ChunkDecoder } from "../../../src/native/index.js";
import { decodeAmf0, encodeAmf0, type Amf0Value } from "../../../src/protocol/rtmp/amf0.js";
import { ServerHandshake } from "../../../src/protocol/rtmp/handshake.js";
import { pingRequest, setChunkSize, windowAckSize } from "../../../src/protocol/rtmp/control-messages.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const EXE = path.join(ROOT, "build", "Release", "sluice_load");

interface Script {
  /** Window Acknowledgement Size sent after connect. */
  window?: number;
  /** Sends PingRequest(1234) after play. */
  ping?: boolean;
  /** Answers play with onStatus level "error" and this code. */
  rejectPlay?: string;
  /** Leaves out the video frame with this index (its timestamp step becomes 80 ms). */
  skipFrame?: number;
  /** Closes the connection right after the handshake. */
  closeAfterHandshake?: boolean;
  /** Never sends media after play. */
  silent?: boolean;
}

interface Seen {
  connect?: Record<string, Amf0Value>;
  commands: string[];
  play?: { streamId: number; args: Amf0Value[] };
  clientChunkSize?: number;
  bufferLength?: [number, number];
  pingResponses: number[];
  acks: number[];
  bytesSent: number;
}

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server that plays one scripted stream: 25 fps video (1000 B frames) and 43 audio frames/s. */
async function scriptedServer(script: Script): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = net.createServer((socket) => {
    const s: Seen = { commands: [], pingResponses: [], acks: [], bytesSent: 0 };
    seen.push(s);
    const hs = new ServerHandshake();
    let decoder: ChunkDecoder | undefined;
    let chunkSize = 128;
    let timer: NodeJS.Timeout | undefined;
    const send = (b: Buffer) => {
      s.bytesSent += b.length;
      if (!socket.destroyed) socket.write(b);
    };
    const command = (streamId: number, ...values: Amf0Value[]) =>
      send(encodeChunks(streamId === 0 ? 3 : 5, 20, streamId, 0, encodeAmf0(...values), chunkSize));
    const startMedia = (streamId: number) => {
      send(encodeChunks(6, 9, streamId, 0, Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]), chunkSize));
      send(encodeChunks(4, 8, streamId, 0, Buffer.from([0xaf, 0, 0x12, 0x10]), chunkSize));
      let frame = 0;
      let audioTs = 0;
      const t0 = Date.now();
      timer = setInterval(() => {
        // Whatever is due by now, as a live encoder would have sent it.
        while (frame * 40 <= Date.now() - t0) {
          const ts = frame * 40;
          if (frame !== script.skipFrame) {
            const key = frame % 50 === 0;
            send(encodeChunks(6, 9, streamId, ts, Buffer.alloc(1000, key ? 0x17 : 0x27).fill(1, 1, 2), chunkSize));
          }
          while (audioTs <= ts) {
            send(encodeChunks(4, 8, streamId, Math.round(audioTs), Buffer.from([0xaf, 1, 0x21, 0x10]), chunkSize));
            audioTs += 1024000 / 44100;
          }
          frame++;
        }
      }, 20);
    };
    socket.on("close", () => clearInterval(timer));
    socket.on("error", () => clearInterval(timer));
    socket.on("data", (data: Buffer) => {
      if (!decoder) {
        const step = hs.push(data);
        if (step.reply) socket.write(step.reply);
        if (!step.done) return;
        if (script.closeAfterHandshake) return void socket.destroy();
        decoder = createChunkDecoder({ maxMessageSize: 1 << 20, maxChunkStreams: 16 });
        if (!step.rest) return;
        data = step.rest;
      }
      for (const m of decoder.push(data)) {
        if (m.type === 1) s.clientChunkSize = m.payload.readUInt32BE(0);
        if (m.type === 3) s.acks.push(m.payload.readUInt32BE(0));
        if (m.type === 4 && m.payload.readUInt16BE(0) === 7) s.pingResponses.push(m.payload.readUInt32BE(2));
        if (m.type === 4 && m.payload.readUInt16BE(0) === 3) {
          s.bufferLength = [m.payload.readUInt32BE(2), m.payload.readUInt32BE(6)];
        }
        if (m.type !== 20) continue;
        const values = decodeAmf0(m.payload);
        const name = String(values[0]);
        s.commands.push(name);
        if (name === "connect") {
          s.connect = values[2] as Record<string, Amf0Value>;
          if (script.window) send(windowAckSize(script.window));
          send(setChunkSize(60000));
          chunkSize = 60000;
          command(0, "_result", values[1] ?? 1, { fmsVer: "FMS/3,5,3,888" }, { level: "status", code: "NetConnection.Connect.Success" });
        } else if (name === "createStream") {
          command(0, "_result", values[1] ?? 2, null, 1);
        } else if (name === "play") {
          s.play = { streamId: m.streamId, args: values.slice(1) };
          if (script.rejectPlay) {
            command(m.streamId, "onStatus", 0, null, { level: "error", code: script.rejectPlay, description: "no" });
            continue;
          }
          command(m.streamId, "onStatus", 0, null, { level: "status", code: "NetStream.Play.Start" });
          if (script.ping) send(pingRequest(1234));
          if (!script.silent) startMedia(m.streamId);
        }
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, seen };
}

interface LoadReport {
  players: { requested: number; started: number; playing: number; failed: number };
  failures: Record<string, number>;
  fps: { min: number; median: number; max: number } | null;
  kbps: { min: number; median: number; max: number } | null;
  framesLost: number;
  worstVideoStepMs: number;
  firstMediaMs: { median: number; p95: number; max: number } | null;
  perPlayer: Array<{ video: number; audio: number; bytes: number; framesLost: number; failure: string | null }>;
}

async function runLoad(url: string, args: string[]): Promise<{ code: number; report: LoadReport; stdout: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-load-test-"));
  try {
    const json = path.join(dir, "out.json");
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(EXE, ["-u", url, "--quiet", "--json", json, ...args], { timeout: 40_000 }, (err, out) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout: out });
      });
    });
    return { code, stdout, report: JSON.parse(await readFile(json, "utf8")) as LoadReport };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("sluice_load players", () => {
  it("connect, createStream and play as a Flash-style client, then count frames", async () => {
    const { port, seen } = await scriptedServer({});
    const { code, report, stdout } = await runLoad(`rtmp://127.0.0.1:${port}/live/s?token=1`, ["-c", "2", "-r", "50", "-d", "2", "--settle", "0.5"]);
    expect(code, stdout).toBe(0);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.clientChunkSize).toBe(4096);
      expect(s.commands).toEqual(["connect", "createStream", "play"]);
      expect(s.connect).toMatchObject({
        app: "live",
        flashVer: "LNX 9,0,124,2",
        tcUrl: `rtmp://127.0.0.1:${port}/live`,
        fpad: false,
        capabilities: 15,
        audioCodecs: 4071,
        videoCodecs: 252,
        videoFunction: 1,
      });
      expect(s.play).toEqual({ streamId: 1, args: [0, null, "s?token=1", -2] });
      expect(s.bufferLength).toEqual([1, 3000]);
    }
    expect(report.players).toEqual({ requested: 2, started: 2, playing: 2, failed: 0 });
    expect(report.fps!.min).toBeGreaterThan(23.5);
    expect(report.fps!.max).toBeLessThan(26.5);
    expect(report.kbps!.min).toBeGreaterThan(150);
    expect(report.framesLost).toBe(0);
    expect(report.worstVideoStepMs).toBe(40);
    // Sequence headers are not frames: the first video frame is the first counted.
    for (const p of report.perPlayer) expect(p.video).toBeGreaterThan(40);
  });

  it("acknowledges each window of bytes and answers PingRequest", async () => {
    const { port, seen } = await scriptedServer({ window: 8192, ping: true });
    const { code, report } = await runLoad(`rtmp://127.0.0.1:${port}/live/s`, ["-c", "1", "-d", "1.5", "--settle", "0"]);
    expect(code).toBe(0);
    const s = seen[0]!;
    expect(s.pingResponses).toEqual([1234]);
    // One acknowledgement per 8192 bytes received, the sequence number being the byte count.
    const received = report.perPlayer[0]!.bytes;
    expect(s.acks.length).toBeGreaterThanOrEqual(Math.floor(received / 8192) - 2);
    expect(s.acks.length).toBeLessThanOrEqual(Math.ceil(received / 8192));
    for (let i = 1; i < s.acks.length; i++) expect(s.acks[i]! - s.acks[i - 1]!).toBeGreaterThanOrEqual(8192);
    expect(s.acks[s.acks.length - 1]).toBeLessThanOrEqual(received);
  });

  it("counts a missing frame as a timestamp step over 1.5x the median", async () => {
    const { port } = await scriptedServer({ skipFrame: 30 });
    const { report } = await runLoad(`rtmp://127.0.0.1:${port}/live/s`, ["-c", "2", "-d", "2", "--settle", "0"]);
    expect(report.framesLost).toBe(2);
    expect(report.perPlayer.map((p) => p.framesLost)).toEqual([1, 1]);
    expect(report.worstVideoStepMs).toBe(80);
  });

  it("records an onStatus error as the failure, and exits 1", async () => {
    const { port } = await scriptedServer({ rejectPlay: "NetStream.Play.StreamNotFound" });
    const { code, report } = await runLoad(`rtmp://127.0.0.1:${port}/live/nope`, ["-c", "3", "-r", "100", "-d", "1"]);
    expect(code).toBe(1);
    expect(report.players.failed).toBe(3);
    expect(report.failures).toEqual({ "onStatus error: NetStream.Play.StreamNotFound": 3 });
  });

  it("records a server that closes the connection, and one that is not there", async () => {
    const { port } = await scriptedServer({ closeAfterHandshake: true });
    const closed = await runLoad(`rtmp://127.0.0.1:${port}/live/s`, ["-c", "2", "-d", "1"]);
    // FIN, or RST when our connect command was still unread in the server's socket.
    expect(closed.report.players.failed).toBe(2);
    for (const reason of Object.keys(closed.report.failures)) {
      expect(reason).toMatch(/^connection (closed|reset) by server/);
    }

    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(0, "127.0.0.1", r));
    const freePort = (gone.address() as net.AddressInfo).port;
    await new Promise((r) => gone.close(r));
    const refused = await runLoad(`rtmp://127.0.0.1:${freePort}/live/s`, ["-c", "2", "-d", "1"]);
    expect(refused.code).toBe(1);
    expect(refused.report.failures).toEqual({ "connection refused": 2 });
  });

  it("fails a player that gets no media within --timeout (default 10 s) of play", async () => {
    const { port } = await scriptedServer({ silent: true });
    const { report } = await runLoad(`rtmp://127.0.0.1:${port}/live/s`, ["-c", "1", "-d", "0.5", "--timeout", "1.5"]);
    expect(report.failures).toEqual({ "no media within 1.5 s after play": 1 });
  });
});
