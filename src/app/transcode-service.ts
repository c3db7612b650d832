/**
 * SRS's transcode: `transcode [APP[/STREAM]] { enabled; ffmpeg; engine NAME { ... } }` in a
 * vhost. When a stream is published, the blocks whose scope matches it (SRS: the first
 * block of each scope, the vhost's "", "APP" and "APP/STREAM", all three apply) start one
 * supervised ffmpeg per enabled engine: it plays the stream from this server at
 * `rtmp://127.0.0.1:PORT/APP?vhost=VHOST/STREAM` and writes the engine's output (usually
 * back here, `[stream]_[engine]`). They stop when the publisher leaves, restart with
 * backoff if ffmpeg dies while the publish lasts, and follow a reload.
 *
 * Loops are refused, never run (docs/transcode.md):
 * - an engine whose output, templates filled, is its own input stream (SRS's "detect a
 *   loop cycle") is not started, with a warning;
 * - a stream that one of our transcoders is publishing now is not transcoded again, by any
 *   scope: `live/x` -> `live/x_sd` must not become `live/x_sd_sd`. SRS has the same guard
 *   per stream (its _transcoded_url); ours covers every transcoder of the server. Outputs
 *   to another server are remembered by app/stream in any vhost, so a stream that comes
 *   back from there (forwarded, or pulled) is caught too.
 * Streams published by ingests are transcoded as any other (ingest then transcode is the
 * usual SRS set-up).
 */
import type { SluiceConfig, TranscodeConfig, VhostConfig } from "../conf/config.js";
import { log } from "../core/logger.js";
import { ffmpegArguments, jobProblem, resolveFfmpegBinary, type FfmpegJob } from "../outputs/ffmpeg/ffmpeg-command.js";
import { fillOutputTemplate, localRtmpUrl, rtmpPort, rtmpTarget } from "../outputs/ffmpeg/ffmpeg-target.js";
import type { Source } from "../stream/source.js";
import { ffmpegLogFile, type FfmpegChildSpec, type FfmpegSupervisor } from "./ffmpeg-supervisor.js";
import type { PublishContext, StreamObserver } from "./stream-observer.js";

const PREFIX = "transcode/";

/** A publish being transcoded. */
interface Publish {
  source: Source;
  param: string;
  /** Its children's ids and the output keys they claim. */
  children: Map<string, string | null>;
  /** Changes to its children, one after another. */
  chain: Promise<void>;
  gone: boolean;
}

/** One engine to run for a publish, or why not. */
export interface TranscodePlan {
  spec: FfmpegChildSpec;
  /** The stream the output names, as the loop guard keys it; null: not an RTMP stream. */
  outputKey: string | null;
}

/** The transcode blocks that apply to app/stream: SRS's first block of each scope. */
export function matchingTranscodes(vhost: VhostConfig, app: string, stream: string): TranscodeConfig[] {
  const out: TranscodeConfig[] = [];
  for (const scope of ["", app, `${app}/${stream}`]) {
    const t = vhost.transcodes.find((x) => x.scope === scope);
    if (t && t.enabled) out.push(t);
  }
  return out;
}

/**
 * What to run for a publish of vhost/app/stream: one plan per enabled engine of the
 * matching blocks. Engines that cannot run (loops, no codecs) are logged and left out.
 */
export function transcodePlans(config: SluiceConfig, vhost: VhostConfig, app: string, stream: string, param: string): TranscodePlan[] {
  const plans: TranscodePlan[] = [];
  const name = `${vhost.name}/${app}/${stream}`;
  const port = rtmpPort(config);
  const input = localRtmpUrl(config, vhost.name, app, stream);
  for (const t of matchingTranscodes(vhost, app, stream)) {
    for (const engine of t.engines) {
      if (!engine.enabled) continue;
      const where = `transcode ${name} engine ${engine.name} (${engine.where})`;
      const id = `${PREFIX}${name}/${engine.name}`;
      if (plans.some((p) => p.spec.id === id)) {
        log.warn(0, `${where}: another matching transcode block has an engine of that name; this one is not started`);
        continue;
      }
      const output = fillOutputTemplate(engine.output, { vhost: vhost.name, port, app, stream, param, engine: engine.name });
      const job: FfmpegJob = { input, engine, output, logLevel: config.ffLogLevel };
      const problem = jobProblem(job);
      if (problem) {
        log.warn(0, `${where}: ${problem}; not started`);
        continue;
      }
      const target = rtmpTarget(output, config);
      if (target && target.local && target.vhost === vhost.name && target.app === app && target.stream === stream) {
        log.warn(0, `${where}: refused: its output ${output} is its own input stream (a loop)`);
        continue;
      }
      const binary = resolveFfmpegBinary(t.ffmpeg);
      plans.push({
        spec: {
          id,
          kind: "transcode",
          name: `${name} ${engine.name}`,
          binary,
          args: ffmpegArguments(job),
          // SRS: ffmpeg-encoder-VHOST-APP-STREAM-ENGINE.log
          logFile: ffmpegLogFile(config.ffLogDir, ["encoder", vhost.name, app, stream, engine.name]),
          fingerprint: JSON.stringify({ binary, engine: { ...engine, where: "" }, port, param, logDir: config.ffLogDir, logLevel: config.ffLogLevel }),
        },
        outputKey: target ? outputKey(target) : null,
      });
    }
  }
  return plans;
}

/** The loop guard's key of a stream: exact on this server; app/stream in any vhost elsewhere. */
function outputKey(t: { vhost: string; app: string; stream: string; local: boolean }): string {
  return `${t.local ? t.vhost : "*"}/${t.app}/${t.stream}`;
}

export class TranscodeService implements StreamObserver {
  private config: SluiceConfig;
  private readonly publishes = new Map<string, Publish>();
  /** Streams our transcoders publish: output key -> the child's id. */
  private readonly outputs = new Map<string, string>();

  constructor(
    private readonly supervisor: FfmpegSupervisor,
    config: SluiceConfig,
  ) {
    this.config = config;
  }

  /** The transcoder (child id) publishing `key` (vhost/app/stream), if one of ours is. */
  producerOf(vhost: string, app: string, stream: string): string | undefined {
    return this.outputs.get(`${vhost}/${app}/${stream}`) ?? this.outputs.get(`*/${app}/${stream}`);
  }

  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void {
    // Every publish is kept (a reload may add a transcode block for it), but the loop guard's.
    const producer = this.producerOf(source.vhost, source.app, source.stream);
    if (producer) {
      log.trace(0, `transcode: ${source.key} is published by our transcoder ${producer.slice(PREFIX.length)}; not transcoded again (loop guard)`);
      return;
    }
    const p: Publish = { source, param: ctx.stream.param, children: new Map(), chain: Promise.resolve(), gone: false };
    this.publishes.set(source.key, p);
    this.apply(p, vhost);
  }

  unpublished(source: Source): void {
    const p = this.publishes.get(source.key);
    if (!p || p.source !== source) return;
    this.publishes.delete(source.key);
    p.gone = true;
    this.apply(p, undefined);
  }

  reload(config: SluiceConfig): void {
    this.config = config;
    for (const p of this.publishes.values()) this.apply(p, config.vhosts.get(p.source.vhost));
  }

  async stop(): Promise<void> {
    for (const p of this.publishes.values()) p.gone = true;
    this.publishes.clear();
    await this.supervisor.stopAll(PREFIX);
    this.outputs.clear();
  }

  /**
   * Makes p's children what `vhost` wants now (none when undefined or the publish is gone).
   * Stops are sent at once, in the caller's turn: a publisher that leaves makes our players
   * end by themselves soon after, and a child that ends before we stop it would be taken
   * for a crash and restarted. Starts follow one another on p's chain.
   */
  private apply(p: Publish, vhost: VhostConfig | undefined): void {
    const { app, stream } = p.source;
    const plans = vhost && !p.gone ? transcodePlans(this.config, vhost, app, stream, p.param) : [];
    const wanted = new Map(plans.map((plan) => [plan.spec.id, plan]));
    for (const id of [...p.children.keys()]) if (!wanted.has(id)) this.release(p, id);
    if (plans.length === 0) return;
    p.chain = p.chain.then(async () => {
      for (const plan of wanted.values()) {
        if (p.gone) return;
        // Claimed before it starts: its output may be published before ensure() returns.
        if (plan.outputKey !== null) this.outputs.set(plan.outputKey, plan.spec.id);
        p.children.set(plan.spec.id, plan.outputKey);
        const what = await this.supervisor.ensure(plan.spec);
        // Released while it was starting (the publisher left, a reload): stop it again.
        if (!p.children.has(plan.spec.id)) void this.supervisor.stop(plan.spec.id);
        else if (what === "replaced") log.trace(0, `transcode ${plan.spec.name}: its config changed; restarted`);
      }
    });
  }

  /** Stops a child of p and frees the output it claimed. */
  private release(p: Publish, id: string): void {
    const key = p.children.get(id);
    p.children.delete(id);
    if (key != null && this.outputs.get(key) === id) this.outputs.delete(key);
    void this.supervisor.stop(id);
  }
}
