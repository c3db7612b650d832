/**
 * SRS's ingest: `ingest NAME { enabled; input { type file|stream; url; } ffmpeg; engine {
 * ... output URL; } }` in a vhost runs one supervised ffmpeg per engine that reads the input
 * and publishes it into this server (or wherever `output` says). A file is read at its own
 * pace (`-re`) and looped (`-stream_loop -1`), so it plays as an endless live stream; a
 * stream input (RTSP, HTTP, HLS, RTMP, UDP TS: anything ffmpeg reads) gets `-re` as SRS
 * gives it (it paces HLS's bursts). An engine that is off, or has no vcodec or acodec,
 * copies both streams, as SRS does. Ingests start with the server; a reload stops the ones
 * removed or changed and starts the new ones; the supervisor restarts one that dies.
 * See docs/ingest.md.
 */
import { type IngestConfig, type SluiceConfig, type TranscodeEngine } from "../conf/config.js";
import { log } from "../core/logger.js";
import { ffmpegArguments, jobProblem, resolveFfmpegBinary, type FfmpegJob } from "../outputs/ffmpeg/ffmpeg-command.js";
import { dropDefaultVhostParam, fillOutputTemplate, rtmpPort, rtmpTarget } from "../outputs/ffmpeg/ffmpeg-target.js";
import { ffmpegLogFile, type FfmpegChildSpec, type FfmpegSupervisor } from "./ffmpeg-supervisor.js";
import type { StreamObserver } from "./stream-observer.js";

const PREFIX = "ingest/";

/** The children an ingest block wants: one per engine. Problems are logged and skipped. */
export function ingestSpecs(config: SluiceConfig, vhost: string, ingest: IngestConfig): FfmpegChildSpec[] {
  const where = `ingest ${vhost}/${ingest.name} (${ingest.where})`;
  if (ingest.engines.length === 0) {
    log.warn(0, `${where}: no engine { output URL; }: nothing to publish to; not started`);
    return [];
  }
  const specs: FfmpegChildSpec[] = [];
  for (const [i, engine] of ingest.engines.entries()) {
    const spec = ingestSpec(config, vhost, ingest, engine, i);
    if (typeof spec === "string") log.warn(0, `${where}: ${spec}; not started`);
    else specs.push(spec);
  }
  return specs;
}

function ingestSpec(config: SluiceConfig, vhost: string, ingest: IngestConfig, engine: TranscodeEngine, index: number): FfmpegChildSpec | string {
  // SRS fills only [vhost], [port] and the date parts of an ingest's output.
  const output = dropDefaultVhostParam(fillOutputTemplate(engine.output, { vhost, port: rtmpPort(config) }));
  if (output === "") return `engine ${engine.name}: no output`;
  const job: FfmpegJob = {
    input: ingest.input.url,
    inputOptions: ingest.input.type === "file" ? ["-re", "-stream_loop", "-1"] : ["-re"],
    engine,
    copy: !engine.enabled || engine.vcodec === "" || engine.acodec === "",
    output,
    logLevel: config.ffLogLevel,
  };
  const problem = jobProblem(job);
  if (problem) return problem;
  // An ingest that pulls the very stream it publishes would wait on itself forever.
  const into = rtmpTarget(output, config);
  const from = ingest.input.type === "stream" ? rtmpTarget(ingest.input.url, config) : null;
  if (into && from && from.local && into.local && from.vhost === into.vhost && from.app === into.app && from.stream === into.stream) {
    return `refused: it reads ${ingest.input.url}, the stream it publishes (a loop)`;
  }
  const multi = ingest.engines.length > 1;
  const binary = resolveFfmpegBinary(ingest.ffmpeg);
  return {
    id: `${PREFIX}${vhost}/${ingest.name}/${index}`,
    kind: "ingest",
    name: `${vhost}/${ingest.name}${multi ? `#${index}` : ""}`,
    binary,
    args: ffmpegArguments(job),
    // SRS: ffmpeg-ingest-VHOST-APP-STREAM.log, named after the output stream.
    logFile: ffmpegLogFile(config.ffLogDir, ["ingest", vhost, into?.app ?? ingest.name, into?.stream ?? String(index)]),
    fingerprint: JSON.stringify({ binary, input: ingest.input, engine: { ...engine, where: "" }, port: rtmpPort(config), logDir: config.ffLogDir, logLevel: config.ffLogLevel }),
  };
}

export class IngestService implements StreamObserver {
  private config: SluiceConfig;
  private started = false;
  /** Applying a config: reloads queue behind each other. */
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly supervisor: FfmpegSupervisor,
    config: SluiceConfig,
  ) {
    this.config = config;
  }

  /** Starts every enabled ingest (once the server listens: they publish into it). */
  start(): void {
    this.started = true;
    this.apply(this.config);
  }

  reload(config: SluiceConfig): void {
    this.config = config;
    if (this.started) this.apply(config);
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.applying;
    await this.supervisor.stopAll(PREFIX);
  }

  /** Whatever the config wants runs; the rest stops. */
  private apply(config: SluiceConfig): void {
    this.applying = this.applying.then(async () => {
      if (!this.started) return;
      const wanted = new Map<string, FfmpegChildSpec>();
      for (const vhost of config.vhosts.values()) {
        // SRS: a disabled vhost runs no ingest.
        if (!vhost.enabled) continue;
        for (const ingest of vhost.ingests) {
          if (!ingest.enabled) continue;
          for (const spec of ingestSpecs(config, vhost.name, ingest)) wanted.set(spec.id, spec);
        }
      }
      const gone = this.supervisor.ids(PREFIX).filter((id) => !wanted.has(id));
      await Promise.all(
        gone.map((id) => {
          log.trace(0, `ingest: ${id.slice(PREFIX.length)} is no longer in the config; stopping it`);
          return this.supervisor.stop(id);
        }),
      );
      for (const spec of wanted.values()) {
        const what = await this.supervisor.ensure(spec);
        if (what === "replaced") log.trace(0, `ingest ${spec.name}: its config changed; restarted`);
      }
    });
  }
}
