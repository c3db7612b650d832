/**
 * forward { enabled; destination HOST:PORT ...; } (and SRS's older `forward HOST:PORT;`):
 * every publish on the vhost is pushed, same app/stream and param, to each destination by
 * its own RtmpForwarder (outputs/forward/rtmp-forwarder.ts), for as long as the publish
 * lasts. A destination that fails is retried with backoff and never disturbs the publisher,
 * its players or the other destinations. A reload starts and stops forwarders of running
 * publishes to match the new destinations (forward turned on or off included).
 *
 * Loops (the seed's "dead-loop detect", docs/forward.md): each forward's connect names the
 * servers the stream passed through, this one last, so that a server on that path refuses
 * it when it comes round again (rtmp-connection.ts, at connect). A destination that is this
 * server itself, or the server the stream came from, is refused here before connecting.
 */
import { DEFAULT_VHOST, type SluiceConfig, type VhostConfig } from "../conf/config.js";
import { log } from "../core/logger.js";
import { RtmpForwarder } from "../outputs/forward/rtmp-forwarder.js";
import { connectIdentity, identityOf, isOwnEndpoint, isSenderEndpoint, type UpstreamIdentity } from "../outputs/forward/upstream-identity.js";
import type { Amf0Object } from "../protocol/rtmp/amf0.js";
import type { Source } from "../stream/source.js";
import type { PublishContext, StreamObserver } from "./stream-observer.js";

/** A forwarder's queue may hold this many bytes, whatever `queue_length` says (as a player's). */
export const FORWARD_QUEUE_BYTES = 16 * 1024 * 1024;

/** What forwards and pushes need of the server. */
export interface ForwardHost {
  /** The id this server names itself by in its connects (upstream-identity.ts). */
  readonly serverId: string;
  /** The connect command object of a live RTMP client, by its id (none for HTTP clients and pulls). */
  connectOf(clientId: number): Amf0Object | undefined;
}

/** The vhost as an upstream connection names it: none for the default vhost (as SRS). */
export function upstreamVhost(vhost: string): string {
  return vhost === DEFAULT_VHOST ? "" : vhost;
}

/** Whether `endpoint` would loop back, and why; null when it would not. */
export async function endpointLoop(
  endpoint: string,
  listen: SluiceConfig["listen"],
  publisherIp: string,
  incoming: UpstreamIdentity | null,
): Promise<string | null> {
  if (await isOwnEndpoint(endpoint, listen)) {
    return `dead loop: ${endpoint} is this server's own RTMP address; the stream would be published back into itself`;
  }
  if (await isSenderEndpoint(endpoint, publisherIp, incoming)) {
    return `dead loop: ${endpoint} is the server this stream came from (${incoming!.server}); it would go back where it came from`;
  }
  return null;
}

interface Forwarding {
  source: Source;
  ctx: PublishContext;
  incoming: UpstreamIdentity | null;
  /** By destination, as the config writes it. */
  forwarders: Map<string, RtmpForwarder>;
}

export class ForwardService implements StreamObserver {
  private readonly forwardings = new Map<Source, Forwarding>();

  constructor(
    private config: SluiceConfig,
    private readonly host: ForwardHost,
  ) {}

  /** The forwarders of a publish in progress (tests, the API). */
  forwardersOf(source: Source): readonly RtmpForwarder[] {
    return [...(this.forwardings.get(source)?.forwarders.values() ?? [])];
  }

  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void {
    const incoming = identityOf(this.host.connectOf(ctx.client.id));
    if (incoming) log.trace(ctx.client.id, `publish ${source.key} comes from server ${incoming.server} (path ${incoming.hops.join(" -> ")})`);
    this.stopAll(source);
    // Every publish is kept, forwarded or not, so that a reload can start forwarding it.
    const f: Forwarding = { source, ctx, incoming, forwarders: new Map() };
    this.forwardings.set(source, f);
    if (vhost.forward.enabled) for (const dest of vhost.forward.destination) this.add(f, vhost, dest);
  }

  unpublished(source: Source): void {
    this.stopAll(source);
  }

  reload(config: SluiceConfig): void {
    this.config = config;
    for (const f of [...this.forwardings.values()]) {
      const vhost = config.vhosts.get(f.source.vhost);
      const wanted = vhost && vhost.forward.enabled ? new Set(vhost.forward.destination) : new Set<string>();
      for (const [dest, fwd] of [...f.forwarders]) {
        if (wanted.has(dest)) continue;
        f.forwarders.delete(dest);
        log.trace(f.ctx.client.id, `reload: forward ${f.source.key} to ${dest} removed`);
        void fwd.stop();
      }
      if (vhost) for (const dest of wanted) if (!f.forwarders.has(dest)) this.add(f, vhost, dest);
    }
  }

  async stop(): Promise<void> {
    const all = [...this.forwardings.values()].flatMap((f) => [...f.forwarders.values()]);
    this.forwardings.clear();
    await Promise.all(all.map((fwd) => fwd.stop()));
  }

  private add(f: Forwarding, vhost: VhostConfig, dest: string): void {
    const { source, ctx } = f;
    const fwd = new RtmpForwarder(source, {
      label: "forward",
      endpoints: [dest],
      vhost: upstreamVhost(vhost.name),
      param: ctx.stream.param,
      ...connectIdentity(f.incoming, this.config.listen.map((l) => l.port), this.host.serverId),
      queue: { queueMs: vhost.play.queueLength * 1000, queueBytes: FORWARD_QUEUE_BYTES },
      chunkSize: vhost.chunkSize,
      logId: ctx.client.id,
    });
    f.forwarders.set(dest, fwd);
    void endpointLoop(dest, this.config.listen, ctx.client.ip, f.incoming).then((loop) => {
      if (f.forwarders.get(dest) !== fwd || this.forwardings.get(source) !== f) return;
      if (loop) {
        f.forwarders.delete(dest);
        log.error(ctx.client.id, `forward ${source.key} to ${dest} refused: ${loop}`);
        return;
      }
      fwd.start();
    });
  }

  private stopAll(source: Source): void {
    const f = this.forwardings.get(source);
    if (!f) return;
    this.forwardings.delete(source);
    for (const fwd of f.forwarders.values()) void fwd.stop();
  }
}
