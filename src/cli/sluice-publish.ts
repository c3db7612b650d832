/**
 * `sluice-publish <file.flv> <rtmp-url> [--loop] [--quiet]`: publishes an FLV file's tags
 * with RtmpClient, paced in real time by their timestamps (as `ffmpeg -re`), metadata first
 * as `@setDataFrame onMetaData`; with --loop the file starts over with timestamps going on
 * and its sequence headers not sent again. SIGINT/SIGTERM end the publish in order
 * (FCUnpublish, deleteStream, then the connection). See docs/client.md.
 */
import { open } from "node:fs/promises";
import { SluiceError } from "../core/errors.js";
import { FlvFileReader, FlvFormatError, FlvParser, FlvTagType, type FlvTag } from "../format/flv-file.js";
import { isAudioSequenceHeader, isVideoSequenceHeader } from "../format/flv.js";
import { encodeAmf0 } from "../protocol/rtmp/amf0.js";
import { RtmpClient, type RtmpUrl } from "../protocol/rtmp/client-session.js";
import { MessageType } from "../protocol/rtmp/message-types.js";
import { ExitCode, exitCodeFor, messageOf } from "./exit-code.js";
import { PublishTimeline, RealTimePacer, isMetadataTag, scriptName } from "./publish-timeline.js";
import { StatusLine, describeConnection, formatBytes } from "./status-line.js";
import { parseToolArgs } from "./tool-options.js";

const TOOL = "sluice-publish";

export const USAGE = `Usage: ${TOOL} <file.flv> <rtmp-url> [--loop] [--quiet]
Publishes an FLV file to an RTMP server in real time, as a live encoder would.
Options:
   --loop                 start the file over at its end, timestamps going on, until stopped
   --seconds <N>          stop after N seconds of media
   --timeout <N>          give up on a connect step after N seconds (default 10)
   --handshake <kind>     complex (default, as Flash Player and ffmpeg) or simple
   -q, --quiet            print only errors on stderr
   -h, --help             print this help and exit
   -v, --version          print the version and exit
Ends with status 0 at the end of the file (or of --seconds) or on SIGINT/SIGTERM, after
FCUnpublish and deleteStream; 1 when the connection fails, 2 on bad arguments (a missing
or non-FLV file, a bad URL), 3 when the server refuses the connect or the publish.
Example:
   ${TOOL} in.flv rtmp://127.0.0.1/live/livestream --loop
`;

interface PublishArgs {
  file: string;
  url: RtmpUrl;
  loop: boolean;
  seconds: number | undefined;
  timeoutSec: number;
  complexHandshake: boolean;
  quiet: boolean;
}

/** Above this many unsent bytes, wait for the socket to drain before sending more. */
const MAX_BACKLOG = 1024 * 1024;
/** How many tags at the start of a file are searched for its metadata. */
const METADATA_SEARCH_TAGS = 64;

function parse(argv: string[]): PublishArgs | number {
  const r = parseToolArgs(
    {
      name: TOOL,
      usage: USAGE,
      options: { loop: { type: "boolean" } },
      positionals: 2,
      urlIndex: 1,
      countError: (n) => `a file and a URL, not ${n} argument${n === 1 ? "" : "s"}`,
      defaultTimeoutSec: 10,
    },
    argv,
  );
  if (typeof r === "number") return r;
  return { ...r.common, file: r.positionals[0]!, loop: r.values["loop"] === true };
}

/** Reads the file's first bytes: it must exist and start with an FLV header. */
async function checkFile(file: string): Promise<void> {
  const fd = await open(file, "r");
  try {
    const head = Buffer.alloc(13);
    const { bytesRead } = await fd.read(head, 0, head.length, 0);
    const parser = new FlvParser();
    parser.push(head.subarray(0, bytesRead));
    if (!parser.header) parser.end(); // throws: too short to be FLV
  } finally {
    await fd.close();
  }
}

/** The file's onMetaData among its first tags, as `@setDataFrame onMetaData {...}`. */
async function findMetadata(reader: FlvFileReader): Promise<Buffer | undefined> {
  let n = 0;
  for await (const tag of reader) {
    if (isMetadataTag(tag)) {
      return scriptName(tag.body) === "@setDataFrame" ? tag.body : Buffer.concat([encodeAmf0("@setDataFrame"), tag.body]);
    }
    if (++n >= METADATA_SEARCH_TAGS) break;
  }
  return undefined;
}

class PublishCounters {
  videoFrames = 0;
  audioFrames = 0;
  firstMs: number | undefined;
  lastMs = 0;

  count(tag: FlvTag): void {
    if (tag.type === FlvTagType.Video && !isVideoSequenceHeader(tag.body)) this.videoFrames++;
    else if (tag.type === FlvTagType.Audio && !isAudioSequenceHeader(tag.body)) this.audioFrames++;
    else return;
    this.firstMs ??= tag.timestamp;
    this.lastMs = Math.max(this.lastMs, tag.timestamp);
  }

  get durationMs(): number {
    return this.firstMs === undefined ? 0 : this.lastMs - this.firstMs;
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (typeof args === "number") return args;
  const status = new StatusLine(TOOL, { quiet: args.quiet });
  try {
    await checkFile(args.file);
  } catch (err) {
    status.error(`cannot publish ${args.file}: ${messageOf(err)}`);
    return ExitCode.Usage;
  }
  const reader = new FlvFileReader(args.file);
  let metadata: Buffer | undefined;
  try {
    metadata = await findMetadata(reader);
  } catch (err) {
    status.error(`cannot read ${args.file}: ${messageOf(err)}`);
    return exitCodeFor(err);
  }

  const client = new RtmpClient(args.url, { complexHandshake: args.complexHandshake, timeoutMs: args.timeoutSec * 1000 });
  // The first reason to stop wins; the loop below sees it and winds down.
  let stop: { code: number; err?: unknown } | undefined;
  let wake: (() => void) | undefined;
  const stopWith = (code: number, err?: unknown) => {
    if (stop) return;
    stop = { code, err };
    if (err !== undefined) status.error(messageOf(err));
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (wake === done) wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  let streamId: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    status.note(`${signal}: ${streamId === undefined ? "stopping" : "unpublishing"}`);
    stopWith(ExitCode.Ok);
    // Not publishing yet: nothing to end in order, and connect should not keep us waiting.
    if (streamId === undefined) client.close();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  client.on("status", (info) => {
    const code = String(info["code"]);
    status.note(`${code}${info["description"] ? ` (${String(info["description"])})` : ""}`);
    if (info["level"] === "error") {
      const why = info["description"] ? ` (${String(info["description"])})` : "";
      stopWith(ExitCode.Rejected, new SluiceError("ERR_RTMP_COMMAND", `the server refused or ended the publish: ${code}${why}`));
    }
  });
  /** What we were doing, for an error message that says when the server hung up. */
  let phase = "connect";
  const onClose = (err: SluiceError | undefined) => {
    const during = phase === "publishing" ? "while publishing" : `during ${phase}${phase === "connect" ? ` (is "${args.url.app}" an app it serves?)` : ""}`;
    stopWith(ExitCode.Failed, err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", `${args.url.host}:${args.url.port} closed the connection ${during}`));
  };
  client.on("close", onClose);

  const counters = new PublishCounters();
  const timeline = new PublishTimeline();
  const pacer = new RealTimePacer();
  const started = performance.now();
  const report = () => {
    const secs = (performance.now() - started) / 1000;
    const kbps = secs > 0 ? Math.round((client.bytesOut * 8) / secs / 1000) : 0;
    return `${(counters.durationMs / 1000).toFixed(1)} s${args.loop ? ` (pass ${timeline.loops})` : ""}, ${formatBytes(client.bytesOut)}, video ${counters.videoFrames}, audio ${counters.audioFrames}, ${kbps} kbps`;
  };
  const ticker = setInterval(() => status.progress(report()), 250);

  try {
    await client.connect();
    status.note(describeConnection(args.url.host, args.url.port, client.handshakeScheme, client.serverChunkSize));
    phase = "createStream";
    const id = await client.createStream();
    phase = "publish";
    await client.publish(id);
    phase = "publishing";
    streamId = id;
    if (metadata) client.sendMessage(id, MessageType.DataAmf0, 0, metadata);
    passes: for (;;) {
      let sent = 0;
      for await (const file of reader) {
        if (stop) break passes;
        const tag = timeline.next(file);
        if (!tag) continue;
        sent++;
        if (args.seconds !== undefined && tag.timestamp - (pacer.start ?? tag.timestamp) >= args.seconds * 1000) {
          status.note(`${args.seconds} s of media sent`);
          stopWith(ExitCode.Ok);
          break passes;
        }
        const wait = pacer.dueIn(tag.timestamp);
        if (wait >= 1) await sleep(wait);
        if (stop) break passes;
        client.sendMessage(id, tag.type, tag.timestamp, tag.body);
        counters.count(tag);
        if (client.bufferedBytes > MAX_BACKLOG) {
          // The server reads slower than real time: wait for it, but not for ever.
          await Promise.race([client.drain(), sleep(args.timeoutSec * 1000)]);
          wake?.();
          if (!stop && client.bufferedBytes > MAX_BACKLOG) {
            stopWith(ExitCode.Failed, new SluiceError("ERR_RTMP_TIMEOUT", `${args.url.host}:${args.url.port} read nothing for ${args.timeoutSec} s`));
          }
        }
      }
      if (reader.truncatedBytes > 0 && timeline.loops === 1) {
        status.note(`${args.file} ends inside a tag: its last ${reader.truncatedBytes} bytes were not sent`);
      }
      if (!args.loop || stop) break;
      // A file with nothing to send would make --loop spin.
      if (sent === 0) throw new FlvFormatError(`${args.file} has no audio or video to loop`);
      timeline.startLoop();
      status.note(`pass ${timeline.loops}: ${args.file} from the start`);
    }
    if (!stop) {
      status.note(`end of ${args.file}`);
      stopWith(ExitCode.Ok);
    }
  } catch (err) {
    // A refusal or a failure while connecting, or the file went bad under us.
    stopWith(exitCodeFor(err), err);
  }
  clearInterval(ticker);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  client.off("close", onClose);
  if (!client.isClosed) {
    if (streamId !== undefined) client.unpublish(streamId);
    await client.end();
  }
  if (stop!.code === ExitCode.Ok || counters.videoFrames + counters.audioFrames > 0) status.note(`done: ${counters.videoFrames} video and ${counters.audioFrames} audio frames, ${(counters.durationMs / 1000).toFixed(1)} s of media, ${formatBytes(client.bytesOut)} sent`);
  return stop!.code;
}
