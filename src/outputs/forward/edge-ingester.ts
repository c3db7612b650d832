/**
 * An edge's pull of one stream from its origins (SRS's SrsEdgeIngester): plays
 * `rtmp://origin/app?vhost=<vhost>` `stream[?param]` and publishes what comes into the
 * local Source, for every player of the stream on this server. One per stream, however
 * many players it has.
 *
 * Failover: when the origin is down or closes, the next origin in the list is tried,
 * wrapping: at once after a connection that brought media, else after a backoff of 1 s
 * doubling to 30 s once every origin failed in a row. An origin that sends nothing for
 * `idleMs` (it does not have the stream, or lost its publisher; SRS's edge gives up on a
 * silent origin the same way) is left for the next one at once.
 *
 * Players see a gap, not an end: the local Source stays published across a failover (and
 * across the origin's own publisher coming back), the next origin's metadata and sequence
 * headers replace the old ones, and its timestamps are shifted to go on from where the last
 * origin's stopped. (An unpublish would end ffmpeg-based players: they stop at
 * NetStream.Play.UnpublishNotify.) Only when no origin sent anything for EDGE_GONE_MS is
 * the local Source unpublished; it is published again when media comes back.
 */
import { SluiceError, errorCode } from "../../core/errors.js";
import { log } from "../../core/logger.js";
import type { RawMessage } from "../../native/index.js";
import { splitAggregate } from "../../protocol/rtmp/aggregate.js";
import type { RtmpClient } from "../../protocol/rtmp/client-session.js";
import { MessageType } from "../../protocol/rtmp/message-types.js";
import { TimestampUnwrapper } from "../../protocol/rtmp/timestamp-unwrapper.js";
import type { PublisherRef, Source } from "../../stream/source.js";
import { Failover, upstreamClient, upstreamUrl, type UpstreamClientOptions } from "./upstream.js";

/** An origin that sends no media for this long is given up for the next one (SRS: 5 s). */
export const EDGE_IDLE_MS = 5000;
/**
 * With a single origin there is nowhere else to go: a silent origin (waiting for its
 * publisher) keeps the connection, and is reconnected only after this long, in case the
 * connection died without a word.
 */
export const EDGE_IDLE_SINGLE_MS = 30_000;
/** No media from any origin for this long: the stream is over for the edge's players too. */
export const EDGE_GONE_MS = 15_000;
/** The step between the last message of one origin and the first of the next. */
const FAILOVER_STEP_MS = 10;

export interface EdgeIngesterOptions extends UpstreamClientOptions {
  /** HOST[:PORT] of the origins, in failover order. */
  origins: readonly string[];
  /** The vhost named to the origin ("" for none: the default vhost). */
  vhost: string;
  app: string;
  stream: string;
  /** The param (`?token=...`) of the player the pull is made for. */
  param: string;
  /** The Source to publish into (the registry's, made if needed) and its release. */
  acquire(): Source;
  release(source: Source): void;
  /** The pull started publishing `source` (before its first message), and stopped (after the Source was told). */
  published?(source: Source): void;
  unpublished?(source: Source): void;
  idleMs?: number;
  goneMs?: number;
}

export type IngesterState = "connecting" | "playing" | "waiting" | "stopped";

export class EdgeIngester {
  state: IngesterState = "waiting";
  /** Connections made, and those that brought media (tests, the log). */
  attempts = 0;
  connectionsWithMedia = 0;
  /** The publisher the local Source sees: this pull. */
  readonly ref: PublisherRef;
  private client: RtmpClient | undefined;
  private source: Source | null = null;
  private unwrapper = new TimestampUnwrapper();
  /** The last timestamp given to the Source, and the shift applied to the current origin's. */
  private lastTs = -1;
  private shift = 0;
  private rebase = false;
  private readonly failover: Failover;
  private lastMediaAt = 0;
  /** When the current connection started playing or last brought media (its idle clock). */
  private connectedAt = 0;
  private gotMedia = false;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private param: string;

  constructor(
    id: number,
    private readonly opts: EdgeIngesterOptions,
  ) {
    if (opts.origins.length === 0) throw new SluiceError("ERR_RTMP_COMMAND", "edge pull: no origin");
    this.ref = { id };
    this.param = opts.param;
    this.failover = new Failover(opts.origins);
  }

  get key(): string {
    return `${this.opts.app}/${this.opts.stream}`;
  }

  /** The origin tried or used now. */
  get origin(): string {
    return this.failover.current;
  }

  /** Whether the local Source is published by this pull now. */
  get publishing(): boolean {
    return this.source !== null;
  }

  /** A getter, so that TypeScript does not narrow the state across the awaits of an attempt. */
  private get stopped(): boolean {
    return this.state === "stopped";
  }

  start(): void {
    if (this.state !== "waiting" || this.timer || this.watchdog) return;
    this.startWatchdog();
    void this.attempt();
  }

  /** The param of a newer player, for the next connection when this one is not playing. */
  offerParam(param: string): void {
    if (this.state !== "playing" || !this.gotMedia) this.param = param;
  }

  stop(): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopWatchdog();
    const client = this.client;
    this.client = undefined;
    this.unpublishLocal();
    client?.close();
    log.trace(this.ref.id, `edge pull ${this.key} from ${this.origin} stopped`);
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (this.state === "stopped") return;
    this.state = "connecting";
    this.attempts++;
    const origin = this.origin;
    const url = upstreamUrl(origin, this.opts.vhost, this.opts.app, this.opts.stream, this.param);
    const client = upstreamClient(url, this.opts);
    this.client = client;
    this.gotMedia = false;
    this.unwrapper = new TimestampUnwrapper();
    this.rebase = this.lastTs >= 0;
    client.on("close", (err) => this.onClosed(client, err));
    client.on("media", (msg) => {
      if (this.client === client) this.onMedia(msg);
    });
    client.on("status", (info) => {
      // The origin lost its publisher: the players here wait (a gap); the watchdog moves
      // on to the next origin, and ends the local publish if nothing comes back.
      if (this.client === client && info["code"] === "NetStream.Play.UnpublishNotify") {
        log.trace(this.ref.id, `edge pull ${this.key}: ${this.origin} lost its publisher`);
      }
    });
    try {
      await client.connect();
      const streamId = await client.createStream();
      await client.play(streamId, url.stream);
    } catch (err) {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      client.close();
      const e = err instanceof SluiceError ? err : SluiceError.wrap(err, `edge pull ${this.key}`, "ERR_RTMP_PEER_CLOSED");
      // An origin that recognised a loop (edges that are each other's origin) will refuse
      // again: it is asked again only at the longest backoff, and the log says why.
      if (errorCode(e) === "ERR_RTMP_COMMAND" && /dead loop/i.test(e.message)) {
        this.failover.failures = Math.max(this.failover.failures, 64 * this.opts.origins.length - 1);
        log.error(this.ref.id, `edge pull ${this.key} from ${origin} refused: ${e.message}`);
      }
      this.retry(`edge pull ${this.key} from ${origin} failed: ${e.message}`, false);
      return;
    }
    if (this.client !== client || this.stopped) {
      client.close();
      return;
    }
    this.state = "playing";
    this.connectedAt = performance.now();
    log.trace(this.ref.id, `edge pull ${this.key} from rtmp://${origin}/${url.app}/${url.stream} playing`);
  }

  private onMedia(msg: RawMessage): void {
    this.lastMediaAt = performance.now();
    this.connectedAt = this.lastMediaAt;
    if (!this.gotMedia) {
      this.gotMedia = true;
      this.connectionsWithMedia++;
      this.failover.failures = 0;
    }
    if (!this.source) {
      const source = this.opts.acquire();
      if (!source.publish(this.ref)) {
        // A client published the stream here meanwhile (an edge publish): it wins.
        this.opts.release(source);
        log.warn(this.ref.id, `edge pull ${this.key}: the stream is published here by client ${source.publisher?.id}; the pull stops`);
        this.stop();
        return;
      }
      if (source.tcUrl === "") source.tcUrl = `rtmp://${this.opts.vhost || "__defaultVhost__"}/${this.opts.app}`;
      this.source = source;
      log.trace(this.ref.id, `edge pull ${this.key}: publishing ${source.key} from ${this.origin}`);
      this.opts.published?.(source);
      // An output may have dropped this connection as it heard of the publish.
      if (this.source !== source || this.client === undefined) return;
    }
    const source = this.source;
    try {
      if (msg.type === MessageType.Aggregate) {
        for (const sub of splitAggregate(msg)) source.onMessage(sub.type, this.timestamp(sub.timestamp), sub.payload);
      } else {
        source.onMessage(msg.type, this.timestamp(msg.timestamp), msg.payload);
      }
    } catch (err) {
      // Bad metadata from the origin: this message is dropped, the stream goes on.
      log.warn(this.ref.id, `edge pull ${this.key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The origin's 32-bit timestamp as the Source's: unwrapped, and shifted after a failover. */
  private timestamp(ts32: number): number {
    const t = this.unwrapper.unwrap(ts32);
    if (this.rebase) {
      this.rebase = false;
      this.shift = this.lastTs + FAILOVER_STEP_MS - t;
    }
    const out = Math.max(0, t + this.shift);
    if (out > this.lastTs) this.lastTs = out;
    return out;
  }

  private unpublishLocal(): void {
    const source = this.source;
    if (!source) return;
    this.source = null;
    source.unpublish(this.ref);
    this.opts.unpublished?.(source);
    this.opts.release(source);
  }

  /**
   * Drops the current connection and the local publish (what closing a publisher does, e.g.
   * hls_on_error disconnect), then pulls again from the next origin. Later than the call:
   * it may come from inside the Source's delivery of a message.
   */
  drop(reason: string): void {
    setImmediate(() => {
      if (this.stopped) return;
      log.warn(this.ref.id, `edge pull ${this.key}: ${reason}; the pull starts again`);
      const client = this.client;
      this.client = undefined;
      this.unpublishLocal();
      client?.close();
      if (this.timer) clearTimeout(this.timer);
      this.retry(`edge pull ${this.key} from ${this.origin} dropped`, false);
    });
  }

  private onClosed(client: RtmpClient, err: SluiceError | undefined): void {
    if (this.client !== client || this.state !== "playing") return;
    this.client = undefined;
    this.retry(`edge pull ${this.key} from ${this.origin} lost: ${err ? err.message : "closed by the origin"}`, this.gotMedia);
  }

  /** Schedules the next attempt on the next origin; `now`: at once, not counted as a failure. */
  private retry(why: string, now: boolean): void {
    const delay = this.failover.next(now);
    this.state = "waiting";
    log.warn(this.ref.id, `${why}; ${this.failover.describe(delay)}`);
    this.timer = setTimeout(() => void this.attempt(), delay);
  }


  /** One timer for the pull's life: a silent origin is left, a stream gone everywhere ends here. */
  private startWatchdog(): void {
    const idleMs = this.opts.origins.length > 1 ? (this.opts.idleMs ?? EDGE_IDLE_MS) : Math.max(this.opts.idleMs ?? 0, EDGE_IDLE_SINGLE_MS);
    const goneMs = this.opts.goneMs ?? EDGE_GONE_MS;
    this.watchdog = setInterval(() => {
      const now = performance.now();
      if (this.source && now - this.lastMediaAt > goneMs) {
        log.warn(this.ref.id, `edge pull ${this.key}: no media from any origin for ${goneMs / 1000}s; unpublished here until it comes back`);
        this.unpublishLocal();
      }
      const client = this.client;
      if (this.state !== "playing" || !client || now - this.connectedAt < idleMs) return;
      this.client = undefined;
      client.close();
      this.retry(`edge pull ${this.key} from ${this.origin}: no media for ${idleMs / 1000}s`, true);
    }, Math.min(1000, idleMs / 2));
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}
