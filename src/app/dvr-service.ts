/**
 * DVR across the server (vhost `dvr { }`): at each publish of a stream that the vhost's
 * `dvr_apply` names (SRS's srs_config_apply_filter: `all`, or `app/stream` names), a
 * DvrRecorder is attached to the Source; at unpublish it completes its file and goes. The
 * settings in force when a publish starts apply to it (a reload applies to the next
 * publish; SRS does not reload dvr_apply at all). Each completed file is told to the
 * vhost's on_dvr hooks, naming the publisher.
 */
import type { VhostConfig } from "../conf/config.js";
import { DvrRecorder } from "../outputs/dvr/dvr-recorder.js";
import type { Source } from "../stream/source.js";
import type { StreamHooks } from "./stream-hooks.js";
import type { PublishContext, StreamObserver } from "./stream-observer.js";

/** Whether `dvr_apply` covers app/stream: "all" alone, or the exact "app/stream" among the names. */
export function dvrApplies(apply: readonly string[], app: string, stream: string): boolean {
  if (apply.length === 0 || (apply.length === 1 && apply[0] === "all")) return true;
  return apply.includes(`${app}/${stream}`);
}

export class DvrService implements StreamObserver {
  private readonly recorders = new Map<Source, DvrRecorder>();
  /** Recorders whose last file is still on its way to disk. */
  private readonly closing = new Set<DvrRecorder>();

  constructor(private readonly hooks: StreamHooks) {}

  /** The recorders of publishes in progress (tests, the API). */
  get active(): readonly DvrRecorder[] {
    return [...this.recorders.values()];
  }

  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void {
    const dvr = vhost.dvr;
    if (!dvr.enabled || !dvrApplies(dvr.apply, source.app, source.stream)) return;
    this.finish(source);
    const onFile = vhost.httpHooks.enabled && vhost.httpHooks.onDvr.length > 0 ? (f: { file: string }) => this.hooks.dvr(ctx.client, ctx.stream, f.file) : null;
    const recorder = new DvrRecorder({ vhost: source.vhost, app: source.app, stream: source.stream }, dvr, onFile);
    this.recorders.set(source, recorder);
    source.addConsumer(recorder);
  }

  unpublished(source: Source): void {
    this.finish(source);
  }

  /** Completes every recording and waits for the files to be renamed (graceful stop). */
  async stop(): Promise<void> {
    for (const source of [...this.recorders.keys()]) this.finish(source);
    await Promise.all([...this.closing].map((r) => r.settled()));
  }

  private finish(source: Source): void {
    const recorder = this.recorders.get(source);
    if (!recorder) return;
    this.recorders.delete(source);
    source.removeConsumer(recorder);
    recorder.end();
    this.closing.add(recorder);
    void recorder.settled().then(() => this.closing.delete(recorder));
  }
}
