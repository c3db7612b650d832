/**
 * `sluice-play <rtmp-url> [-o out.flv] [--seconds N] [--quiet]`: plays a stream with
 * RtmpClient and writes what comes as an FLV file (header, metadata, sequence headers and
 * frames, with the timestamps the server sent), or to stdout with `-o -`. See
 * docs/client.md for the options and the exit codes.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { SluiceError } from "../core/errors.js";
import { FlvFileWriter, FlvTagType } from "../format/flv-file.js";
import { isAudioSequenceHeader, isVideoSequenceHeader } from "../format/flv.js";
import type { RawMessage } from "../native/index.js";
import { splitAggregate } from "../protocol/rtmp/aggregate.js";
import { decodeAmf0Value } from "../protocol/rtmp/amf0.js";
import { RtmpClient, type RtmpUrl } from "../protocol/rtmp/client-session.js";
import { MessageType } from "../protocol/rtmp/message-types.js";
import { ExitCode, exitCodeFor, messageOf } from "./exit-code.js";
import { StatusLine, describeConnection, formatBytes } from "./status-line.js";
import { parseToolArgs } from "./tool-options.js";

const TOOL = "sluice-play";

export const USAGE = `Usage: ${TOOL} <rtmp-url> [-o out.flv] [--seconds N] [--quiet]
Plays an RTMP stream and writes it as FLV.
Options:
   -o, --output <file>    write the stream to this FLV file; "-" for stdout
                          (without -o the stream is played and counted, not kept)
   --seconds <N>          stop after N seconds of media (timestamps, as ffmpeg's -t)
   --timeout <N>          give up when the server sends nothing for N seconds (default 30)
   --handshake <kind>     complex (default, as Flash Player and ffmpeg) or simple
   -q, --quiet            print only errors on stderr
   -h, --help             print this help and exit
   -v, --version          print the version and exit
Ends with status 0 when the duration is reached or the stream ends (UnpublishNotify,
StreamEOF, Play.Stop/Complete) or on SIGINT/SIGTERM; 1 when the connection fails, 2 on
bad arguments, 3 when the server refuses the connect or the play.
Example:
   ${TOOL} rtmp://127.0.0.1/live/livestream -o out.flv --seconds 10
`;

export interface PlayArgs {
  url: RtmpUrl;
  output: string | undefined;
  seconds: number | undefined;
  timeoutSec: number;
  complexHandshake: boolean;
  quiet: boolean;
}

/** The data messages that are RTMP's business, not the stream's: not written to the file. */
const NOT_STREAM_DATA = new Set(["|RtmpSampleAccess", "onStatus"]);
/** "@setDataFrame" as AMF0: a string marker, its length, its bytes. */
const SET_DATA_FRAME_PREFIX = 1 + 2 + "@setDataFrame".length;

function parse(argv: string[]): PlayArgs | number {
  const r = parseToolArgs(
    {
      name: TOOL,
      usage: USAGE,
      options: { output: { type: "string", short: "o" } },
      positionals: 1,
      urlIndex: 0,
      countError: (n) => (n === 0 ? "no URL to play" : `one URL, not ${n} arguments`),
      defaultTimeoutSec: 30,
    },
    argv,
  );
  if (typeof r === "number") return r;
  return { ...r.common, output: r.values["output"] as string | undefined };
}

/** Opens the output before connecting, so that a bad path fails first and alone. */
async function openOutput(output: string | undefined): Promise<FlvFileWriter | undefined> {
  if (output === undefined) return undefined;
  if (output === "-") return new FlvFileWriter(process.stdout, { closeOutput: false });
  const file: WriteStream = createWriteStream(output);
  await new Promise<void>((resolve, reject) => {
    file.once("open", () => resolve());
    file.once("error", reject);
  });
  return new FlvFileWriter(file);
}

/** Counts and writes what a player receives. */
class PlayRecorder {
  videoFrames = 0;
  audioFrames = 0;
  mediaBytes = 0;
  firstMs: number | undefined;
  lastMs: number | undefined;
  /** Set once --seconds of media are in: later messages are dropped. */
  full = false;

  constructor(
    private readonly writer: FlvFileWriter | undefined,
    private readonly limitMs: number | undefined,
  ) {
    writer?.writeHeader(true, true);
  }

  get durationMs(): number {
    return this.firstMs === undefined || this.lastMs === undefined ? 0 : this.lastMs - this.firstMs;
  }

  onMessage(msg: RawMessage): void {
    if (msg.type === MessageType.Aggregate) {
      for (const sub of splitAggregate(msg)) this.onTag(sub.type, sub.timestamp, sub.payload);
    } else {
      this.onTag(msg.type, msg.timestamp, msg.payload);
    }
  }

  private onTag(type: number, timestamp: number, payload: Buffer): void {
    if (this.full) return;
    if (type === MessageType.Audio || type === MessageType.Video) {
      if (this.firstMs === undefined) this.firstMs = timestamp;
      if (this.limitMs !== undefined && timestamp - this.firstMs >= this.limitMs) {
        this.full = true;
        return;
      }
      this.lastMs = this.lastMs === undefined ? timestamp : Math.max(this.lastMs, timestamp);
      if (type === MessageType.Video) {
        if (!isVideoSequenceHeader(payload)) this.videoFrames++;
      } else if (!isAudioSequenceHeader(payload)) {
        this.audioFrames++;
      }
      this.mediaBytes += payload.length;
      this.writer?.writeTag(type, timestamp, payload);
      return;
    }
    if (type === MessageType.DataAmf0 || (type === MessageType.DataAmf3 && payload[0] === 0)) {
      const body = type === MessageType.DataAmf3 ? payload.subarray(1) : payload;
      const name = firstString(body);
      if (name === undefined || NOT_STREAM_DATA.has(name)) return;
      // A file's metadata is `onMetaData {...}`; a publisher's @setDataFrame wrapper goes.
      this.writer?.writeTag(FlvTagType.Script, timestamp, name === "@setDataFrame" ? body.subarray(SET_DATA_FRAME_PREFIX) : body);
    }
  }
}

function firstString(body: Buffer): string | undefined {
  try {
    const { value } = decodeAmf0Value(body, 0);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (typeof args === "number") return args;
  const status = new StatusLine(TOOL, { quiet: args.quiet });
  let writer: FlvFileWriter | undefined;
  try {
    writer = await openOutput(args.output);
  } catch (err) {
    status.error(`cannot write ${args.output}: ${messageOf(err)}`);
    return ExitCode.Usage;
  }
  const recorder = new PlayRecorder(writer, args.seconds === undefined ? undefined : args.seconds * 1000);
  const client = new RtmpClient(args.url, { complexHandshake: args.complexHandshake, timeoutMs: Math.min(args.timeoutSec, 10) * 1000 });
  const started = performance.now();
  let lastData = started;
  let ticker: NodeJS.Timeout | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  /** What we were doing, for an error message that says when the server hung up. */
  let phase = "connect";
  const code = await new Promise<number>((resolve) => {
    let settled = false;
    const finish = (c: number, err?: unknown) => {
      if (settled) return;
      client.removeAllListeners("media");
      settled = true;
      if (err !== undefined) status.error(messageOf(err));
      resolve(c);
    };
    const report = () => {
      const secs = (performance.now() - started) / 1000;
      const kbps = secs > 0 ? Math.round((client.bytesIn * 8) / secs / 1000) : 0;
      return `${(recorder.durationMs / 1000).toFixed(1)} s, ${formatBytes(client.bytesIn)}, video ${recorder.videoFrames}, audio ${recorder.audioFrames}, ${kbps} kbps`;
    };
    ticker = setInterval(() => {
      status.progress(report());
      if (performance.now() - lastData > args.timeoutSec * 1000) {
        finish(ExitCode.Failed, new SluiceError("ERR_RTMP_TIMEOUT", `nothing from ${args.url.host}:${args.url.port} for ${args.timeoutSec} s`));
      }
    }, 250);
    onSignal = (signal: NodeJS.Signals) => {
      status.note(`${signal}: stopping`);
      finish(ExitCode.Ok);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    client.on("media", (msg) => {
      lastData = performance.now();
      recorder.onMessage(msg);
      if (recorder.full) {
        status.note(`${args.seconds} s of media received`);
        finish(ExitCode.Ok);
      }
    });
    client.on("status", (info) => {
      lastData = performance.now();
      const code = String(info["code"]);
      status.note(`${code}${info["description"] ? ` (${String(info["description"])})` : ""}`);
      if (code === "NetStream.Play.UnpublishNotify" || code === "NetStream.Play.Stop" || code === "NetStream.Play.Complete") {
        finish(ExitCode.Ok);
      } else if (info["level"] === "error") {
        const why = info["description"] ? ` (${String(info["description"])})` : "";
        finish(ExitCode.Rejected, new SluiceError("ERR_RTMP_COMMAND", `the server refused or ended the play: ${code}${why}`));
      }
    });
    client.on("streamEof", () => {
      status.note("StreamEOF");
      finish(ExitCode.Ok);
    });
    client.on("close", (err) => {
      const during = phase === "playing" ? "while playing" : `during ${phase}${phase === "connect" ? ` (is "${args.url.app}" an app it serves?)` : ""}`;
      finish(ExitCode.Failed, err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", `${args.url.host}:${args.url.port} closed the connection ${during}`));
    });
    void (async () => {
      try {
        await client.connect();
        status.note(describeConnection(args.url.host, args.url.port, client.handshakeScheme, client.serverChunkSize));
        phase = "createStream";
        const streamId = await client.createStream();
        phase = "play";
        await client.play(streamId);
        phase = "playing";
      } catch (err) {
        finish(exitCodeFor(err), err);
      }
    })();
  });
  clearInterval(ticker);
  process.off("SIGINT", onSignal!);
  process.off("SIGTERM", onSignal!);
  client.removeAllListeners("close");
  client.close();
  if (writer) {
    try {
      await writer.end();
    } catch (err) {
      status.error(`writing ${args.output}: ${messageOf(err)}`);
      return ExitCode.Failed;
    }
  }
  if (code === ExitCode.Ok || recorder.videoFrames + recorder.audioFrames > 0) status.note(`done: ${args.output && args.output !== "-" ? `${args.output}, ` : ""}${recorder.videoFrames} video and ${recorder.audioFrames} audio frames, ${(recorder.durationMs / 1000).toFixed(1)} s of media, ${formatBytes(client.bytesIn)} received`);
  return code;
}
