#!/usr/bin/env node
/**
 * Deterministic workloads for the CI cost gate (bench/cost/check.mjs), run under
 * `valgrind --tool=callgrind`, which counts the instructions they execute.
 *
 *   node bench/cost/workload.mjs decode <iterations>
 *   node bench/cost/workload.mjs fanout <iterations>
 *
 * decode: a synthetic publisher's bytes (20 s of 2.5 Mbps H.264-like video, 25 fps, 2 s
 *   GOP, plus 128 kbps AAC-like audio, 43 messages/s), chunked by our encoder at 4096,
 *   fed to a fresh native chunk decoder in 1400-byte pieces, once per iteration.
 * fanout: a Source (GOP cache, time_jitter full, mw_latency 350) with 200 RtmpPlayers on
 *   stand-in sockets; 20 s of a synthetic 500 kbps stream are published through
 *   source.onMessage, with source.flushNow() every 350 ms of stream time (no real timer
 *   ever fires: everything runs synchronously), once per iteration (a new Source and new
 *   players each time). The stand-in socket's `_handle.fd` is /dev/null, so the players
 *   take their default path, one native writev(2) per flush, and the kernel discards the
 *   bytes at once; with SLUICE_FANOUT=node they take the cork/write path instead and the
 *   stand-in's write() counts and discards.
 *
 * Everything but the measured loop (module loading, building the synthetic stream) also
 * runs with 0 iterations, so the gate subtracts that run's count. No wall clock and no
 * Math.random: the content comes from a seeded PRNG. Prints one JSON line on stdout.
 */
import { openSync } from "node:fs";
import { createChunkDecoder, encodeChunks } from "../../dist/native/index.js";
import { Amf0EcmaArray, createAmf0Object, encodeAmf0 } from "../../dist/protocol/rtmp/amf0.js";
import { Source } from "../../dist/stream/source.js";
import { RtmpPlayer } from "../../dist/outputs/rtmp/rtmp-player.js";

/** The workloads' parameters; check.mjs records them in the baseline. */
const PARAMS = {
  decode: { seconds: 20, bitrate: 2_500_000, audioBitrate: 128_000, fps: 25, gopSeconds: 2, chunkSize: 4096, readSize: 1400 },
  fanout: {
    seconds: 20,
    bitrate: 500_000,
    audioBitrate: 128_000,
    fps: 25,
    gopSeconds: 2,
    players: 200,
    playerChunkSize: 60000,
    mwLatency: 350,
  },
};

const CSID_CONTROL = 2;
const CSID_SOURCE = 6; // ffmpeg's RTMP_SOURCE_CHANNEL for a publisher's media and data
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_AUDIO = 8;
const TYPE_VIDEO = 9;
const TYPE_DATA = 18;
const KEYFRAME_RATIO = 8; // keyframe size over the mean P-frame size
const AUDIO_FRAME_MS = (1024 / 44100) * 1000; // AAC: 1024 samples at 44.1 kHz, ~43 frames/s

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Payload bytes: a window of a seeded random pool (cheap to build under valgrind), then the FLV tag header. */
function makeFiller(seed) {
  const rnd = mulberry32(seed);
  const pool = Buffer.allocUnsafe(64 * 1024);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE((rnd() * 4294967296) >>> 0, i);
  const filled = (size, head) => {
    const b = Buffer.allocUnsafe(size);
    let at = 0;
    let from = (rnd() * pool.length) | 0;
    while (at < size) {
      const n = Math.min(size - at, pool.length - from);
      pool.copy(b, at, from, from + n);
      at += n;
      from = 0;
    }
    for (let i = 0; i < head.length && i < size; i++) b[i] = head[i];
    return b;
  };
  return { rnd, filled };
}

/**
 * A publisher's messages in send order: @setDataFrame, the AVC and AAC sequence headers,
 * then video and audio frames interleaved by timestamp.
 */
function publisherMessages(o, seed) {
  const { rnd, filled } = makeFiller(seed);
  const meta = Object.assign(createAmf0Object(), {
    duration: 0,
    width: 1280,
    height: 720,
    videodatarate: (o.bitrate - o.audioBitrate) / 1000,
    framerate: o.fps,
    videocodecid: 7,
    audiodatarate: o.audioBitrate / 1000,
    audiosamplerate: 44100,
    audiosamplesize: 16,
    stereo: true,
    audiocodecid: 10,
    encoder: "Lavf59.27.100",
    filesize: 0,
  });
  const out = [
    { type: TYPE_DATA, timestamp: 0, payload: encodeAmf0("@setDataFrame", "onMetaData", new Amf0EcmaArray(meta)) },
    { type: TYPE_VIDEO, timestamp: 0, payload: filled(45, [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]) },
    { type: TYPE_AUDIO, timestamp: 0, payload: Buffer.from([0xaf, 0x00, 0x12, 0x10]) },
  ];
  const frames = Math.round(o.seconds * o.fps);
  const gopFrames = Math.round(o.gopSeconds * o.fps);
  const videoBytesPerGop = ((o.bitrate - o.audioBitrate) / 8) * o.gopSeconds;
  const pMean = videoBytesPerGop / (gopFrames - 1 + KEYFRAME_RATIO);
  const audioBytes = Math.round(o.audioBitrate / 8 / (1000 / AUDIO_FRAME_MS));
  const endMs = o.seconds * 1000;
  for (let v = 0, a = 0; ; ) {
    const vt = (v * 1000) / o.fps;
    const at = a * AUDIO_FRAME_MS;
    if (v >= frames && at >= endMs) break;
    if (v < frames && vt <= at) {
      const key = v % gopFrames === 0;
      const size = Math.round(key ? pMean * KEYFRAME_RATIO : pMean * (0.7 + 0.6 * rnd()));
      out.push({ type: TYPE_VIDEO, timestamp: Math.round(vt), payload: filled(size, [key ? 0x17 : 0x27, 1, 0, 0, 0]) });
      v++;
    } else {
      out.push({ type: TYPE_AUDIO, timestamp: Math.round(at), payload: filled(audioBytes, [0xaf, 0x01]) });
      a++;
    }
  }
  return out;
}

function decodeWorkload(iterations) {
  const o = PARAMS.decode;
  const messages = publisherMessages(o, 0x51c3);
  // On the wire: Set Chunk Size at the default 128, then every message chunked at 4096.
  const setChunkSize = Buffer.alloc(4);
  setChunkSize.writeUInt32BE(o.chunkSize);
  const parts = [encodeChunks(CSID_CONTROL, TYPE_SET_CHUNK_SIZE, 0, 0, setChunkSize, 128)];
  for (const m of messages) parts.push(encodeChunks(CSID_SOURCE, m.type, 1, m.timestamp, m.payload, o.chunkSize));
  const wire = Buffer.concat(parts);
  const reads = [];
  for (let at = 0; at < wire.length; at += o.readSize) reads.push(wire.subarray(at, Math.min(at + o.readSize, wire.length)));

  let decoded = 0;
  let payloadBytes = 0;
  for (let it = 0; it < iterations; it++) {
    const decoder = createChunkDecoder({ maxMessageSize: 16 * 1024 * 1024, maxChunkStreams: 64 });
    for (let i = 0; i < reads.length; i++) {
      const msgs = decoder.push(reads[i]);
      for (let j = 0; j < msgs.length; j++) payloadBytes += msgs[j].payload.length;
      decoded += msgs.length;
    }
  }
  if (decoded !== iterations * (messages.length + 1)) {
    throw new Error(`decode: ${decoded} messages decoded, expected ${iterations * (messages.length + 1)}`);
  }
  return {
    bytes: wire.length * iterations,
    streamBytes: wire.length,
    messagesPerIteration: messages.length + 1,
    reads: reads.length,
    payloadBytes,
  };
}

/** One descriptor for every stand-in socket: writev(2) to /dev/null takes everything at once. */
let devNull = -1;

/**
 * What RtmpPlayer uses of a net.Socket: `_handle.fd` (its native writev), writableLength
 * and destroyed, and cork/write/uncork (the SLUICE_FANOUT=node path, and the remainder of
 * a short native write, which /dev/null never makes). Node never holds anything unsent.
 */
class DiscardSocket {
  _handle = { fd: devNull };
  destroyed = false;
  writableLength = 0;
  bytes = 0;
  writes = 0;
  cork() {}
  uncork() {}
  write(b) {
    this.bytes += b.length;
    this.writes++;
    return true;
  }
}

function fanoutWorkload(iterations) {
  const o = PARAMS.fanout;
  const messages = publisherMessages(o, 0x5eed);
  const config = { gopCache: true, gopCacheMaxFrames: 2500, timeJitter: "full", mwLatency: o.mwLatency };
  const limits = { queueMs: 10_000, queueBytes: 16 * 1024 * 1024, socketBytes: 2 * 1024 * 1024 };
  devNull = openSync("/dev/null", "w");

  let delivered = 0;
  let nodeWrites = 0;
  let sent = 0;
  let dropped = 0;
  for (let it = 0; it < iterations; it++) {
    const source = new Source("__defaultVhost__", "live", "cost", config);
    const publisher = { id: 1 };
    source.publish(publisher);
    // Metadata and sequence headers first, then the players join (each gets them in its
    // join write), then the media: the steady state of a live stream with an audience.
    for (let i = 0; i < 3; i++) source.onMessage(messages[i].type, messages[i].timestamp, messages[i].payload);
    const sessions = [];
    const players = [];
    for (let p = 0; p < o.players; p++) {
      const session = { socket: new DiscardSocket(), bytesOut: 0, sendOnStatus() {} };
      const player = new RtmpPlayer(session, 1, o.playerChunkSize, limits, source.gopCacheSize > 0);
      sessions.push(session);
      players.push(player);
      source.addConsumer(player);
    }
    let nextFlush = o.mwLatency;
    for (let i = 3; i < messages.length; i++) {
      const m = messages[i];
      while (m.timestamp >= nextFlush) {
        source.flushNow();
        nextFlush += o.mwLatency;
      }
      source.onMessage(m.type, m.timestamp, m.payload);
    }
    source.flushNow();
    source.unpublish(publisher);
    for (const p of players) source.removeConsumer(p);
    source.dispose();
    for (let p = 0; p < o.players; p++) {
      delivered += sessions[p].bytesOut;
      nodeWrites += sessions[p].socket.writes;
      sent += players[p].sentMessages;
      dropped += players[p].droppedMessages;
    }
  }
  if (dropped !== 0) throw new Error(`fanout: ${dropped} messages dropped`);
  if (sent !== iterations * o.players * messages.length) {
    throw new Error(`fanout: ${sent} messages sent, expected ${iterations * o.players * messages.length}`);
  }
  // Which write path the players took: "native" (writev to the descriptor) or "node".
  const path = iterations === 0 ? "none" : nodeWrites === 0 ? "native" : nodeWrites === sent ? "node" : "mixed";
  return { bytes: delivered, messagesPerIteration: messages.length, sentMessages: sent, writePath: path };
}

const WORKLOADS = { decode: decodeWorkload, fanout: fanoutWorkload };

const [name, itArg] = process.argv.slice(2);
const run = WORKLOADS[name];
const iterations = Number(itArg ?? "1");
if (!run || !Number.isInteger(iterations) || iterations < 0) {
  process.stderr.write(`usage: node bench/cost/workload.mjs <${Object.keys(WORKLOADS).join("|")}> <iterations>\n`);
  process.exit(2);
}
const result = run(iterations);
process.stdout.write(`${JSON.stringify({ workload: name, iterations, params: PARAMS[name], ...result })}\n`);
