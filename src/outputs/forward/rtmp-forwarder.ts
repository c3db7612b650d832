/**
 * Pushes one published Source to another RTMP server, as SRS's SrsForwarder (forward) and
 * SrsEdgeForwarder (an edge's publish pushed to its origin) do: connect to
 * `rtmp://host:port/app?vhost=<vhost>`, publish the same stream name with its param, then
 * metadata, sequence headers and the GOP cache (the Source's joiner preamble) and live
 * messages with the Source's timestamps.
 *
 * The forwarder is a Consumer of the Source only while its publish is up: between attempts
 * it holds nothing. It reconnects while the Source is published: to the next endpoint at
 * once after a connection that was up for a while (failover), else after a backoff of 1 s
 * doubling to 30 s once every endpoint has failed in a row. Each failure is one log line.
 * Its queue is bounded like a player's (`queue_length`): a destination that does not keep up
 * drops to the next keyframe, it never grows memory.
 */
import { SluiceError, errorCode } from "../../core/errors.js";
import { log } from "../../core/logger.js";
import { encodeAmf0 } from "../../protocol/rtmp/amf0.js";
import type { RtmpClient } from "../../protocol/rtmp/client-session.js";
import type { Consumer } from "../../stream/consumer.js";
import { ConsumerQueue, type QueueLimits } from "../../stream/consumer-queue.js";
import { MessageFlags, type SharedMessage } from "../../stream/shared-message.js";
import type { Source } from "../../stream/source.js";
import { Failover, upstreamClient, upstreamUrl, type UpstreamClientOptions } from "./upstream.js";

/** A publish that lasted this long was healthy: its loss fails over at once. */
const STABLE_MS = 5000;
/** Bytes the socket may hold unsent before we stop writing (the queue then bounds it). */
const SOCKET_BYTES = 4 * 1024 * 1024;

export interface RtmpForwarderOptions extends UpstreamClientOptions {
  /** What the log calls this push: "forward", "edge push". */
  label: string;
  /** HOST[:PORT] of the destinations, in failover order (one for a forward). */
  endpoints: readonly string[];
  /** The vhost named to the destination ("" for none: the default vhost). */
  vhost: string;
  /** The publisher's param (`?token=...`), passed on with the stream name. */
  param: string;
  queue: QueueLimits;
  /** The log context (the publisher's client id). */
  logId: number;
  /**
   * The destination refused the publish (an `_error` or error-level onStatus): return true
   * to stop for good (an edge closes its publisher), false to retry as after any failure.
   */
  onRefused?(err: SluiceError, endpoint: string): boolean;
}

export type ForwarderState = "connecting" | "live" | "waiting" | "stopped";

export class RtmpForwarder implements Consumer {
  state: ForwarderState = "waiting";
  /** Attempts made, publishes that came up, and messages sent (tests, the log). */
  attempts = 0;
  publishes = 0;
  sentMessages = 0;
  droppedMessages = 0;
  private client: RtmpClient | undefined;
  private streamId = 0;
  private queue: ConsumerQueue;
  private readonly failover: Failover;
  private liveAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Source,
    private readonly opts: RtmpForwarderOptions,
  ) {
    if (opts.endpoints.length === 0) throw new SluiceError("ERR_RTMP_COMMAND", `${opts.label}: no destination`);
    this.queue = new ConsumerQueue(opts.queue, false);
    this.failover = new Failover(opts.endpoints);
  }

  /** The endpoint tried or used now. */
  get endpoint(): string {
    return this.failover.current;
  }

  /** Where the stream goes, for logs: `host:port/app/stream`. */
  private get where(): string {
    return `${this.endpoint}/${this.source.app}/${this.source.stream}`;
  }

  /** A getter, so that TypeScript does not narrow the state across the awaits of an attempt. */
  private get stopped(): boolean {
    return this.state === "stopped";
  }

  start(): void {
    if (this.state !== "waiting" || this.timer) return;
    void this.attempt();
  }

  /** Ends the push: FCUnpublish, deleteStream and an orderly close; resolves when closed. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const wasLive = this.state === "live";
    this.state = "stopped";
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.source.removeConsumer(this);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (wasLive && !client.isClosed) {
      this.flushQueue(client);
      client.unpublish(this.streamId, upstreamUrl(this.endpoint, this.opts.vhost, this.source.app, this.source.stream, this.opts.param).stream);
      log.trace(this.opts.logId, `${this.opts.label} ${this.source.key} to ${this.endpoint} stopped, ${this.sentMessages} messages sent`);
      await client.end();
    } else {
      client.close();
    }
  }

  // ---- Consumer ---------------------------------------------------------------------

  enqueue(msg: SharedMessage): void {
    if (this.state !== "live") return;
    const before = this.queue.droppedMessages;
    this.queue.push(msg);
    this.droppedMessages += this.queue.droppedMessages - before;
  }

  flush(): void {
    const client = this.client;
    if (this.state !== "live" || !client) return;
    this.flushQueue(client);
  }

  onPublish(): void {
    // A forwarder lives for one publish; the service makes a new one for the next.
  }

  onUnpublish(): void {}

  // ---- internals --------------------------------------------------------------------

  private flushQueue(client: RtmpClient): void {
    const q = this.queue.messages;
    if (q.length === 0) return;
    // Node still holds what the destination has not taken: write nothing more now; the
    // queue grows to its bound and then drops to the next keyframe.
    if (client.bufferedBytes > SOCKET_BYTES) return;
    for (let i = 0; i < q.length; i++) {
      const m = q[i]!;
      // Metadata as a publisher sends it: `@setDataFrame onMetaData {...}` (the Source keeps
      // it as `onMetaData {...}`, as players get it).
      const payload = (m.flags & MessageFlags.Metadata) !== 0 ? Buffer.concat([SET_DATA_FRAME, m.payload]) : m.payload;
      client.sendMessage(this.streamId, m.type, m.timestamp, payload);
    }
    this.sentMessages += q.length;
    this.queue.clear();
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (this.state === "stopped") return;
    this.state = "connecting";
    this.attempts++;
    const endpoint = this.endpoint;
    const url = upstreamUrl(endpoint, this.opts.vhost, this.source.app, this.source.stream, this.opts.param);
    const client = upstreamClient(url, this.opts);
    this.client = client;
    client.on("close", (err) => this.onClosed(client, err));
    let streamId: number;
    try {
      await client.connect();
      streamId = await client.createStream();
      await client.publish(streamId, url.stream);
    } catch (err) {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      client.close();
      const e = err instanceof SluiceError ? err : SluiceError.wrap(err, `${this.opts.label} ${this.where}`, "ERR_RTMP_PEER_CLOSED");
      // A destination that recognised a loop (its refusal says "dead loop") is not retried.
      if (errorCode(e) === "ERR_RTMP_COMMAND" && /dead loop/i.test(e.message)) {
        log.error(this.opts.logId, `${this.opts.label} ${this.source.key} to ${endpoint} refused: ${e.message}; not retried`);
        this.state = "stopped";
        return;
      }
      if (errorCode(e) === "ERR_RTMP_COMMAND" && this.opts.onRefused?.(e, endpoint)) {
        log.warn(this.opts.logId, `${this.opts.label} ${this.source.key} to ${endpoint} refused: ${e.message}; not retried`);
        this.state = "stopped";
        return;
      }
      this.retry(`${this.opts.label} ${this.source.key} to ${endpoint} failed: ${e.message}`);
      return;
    }
    if (this.client !== client || this.stopped) {
      client.close();
      return;
    }
    this.state = "live";
    this.streamId = streamId;
    this.liveAt = performance.now();
    this.publishes++;
    log.trace(this.opts.logId, `${this.opts.label} ${this.source.key} to rtmp://${endpoint}/${url.app}/${url.stream} started`);
    // Joining as a consumer gives metadata, sequence headers and the GOP cache first, as
    // after every reconnect; without a GOP cache, media waits for the next keyframe.
    this.queue = new ConsumerQueue(this.opts.queue, this.source.gopCacheSize > 0);
    this.source.addConsumer(this);
  }

  private onClosed(client: RtmpClient, err: SluiceError | undefined): void {
    if (this.client !== client || this.state !== "live") return;
    this.client = undefined;
    this.source.removeConsumer(this);
    this.queue.clear();
    const lasted = performance.now() - this.liveAt;
    // A healthy publish that drops fails over at once; one the destination ends right
    // after accepting it (e.g. a refused loop) counts as a failure and backs off.
    const stable = lasted >= STABLE_MS;
    if (stable) this.failover.failures = 0;
    this.retry(`${this.opts.label} ${this.source.key} to ${this.endpoint} lost after ${(lasted / 1000).toFixed(1)}s: ${err ? err.message : "closed by the destination"}`, stable);
  }

  /** Schedules the next attempt, on the next endpoint; `now`: at once, not counted as a failure. */
  private retry(why: string, now = false): void {
    const delay = this.failover.next(now);
    this.state = "waiting";
    log.warn(this.opts.logId, `${why}; ${this.failover.describe(delay)}`);
    this.timer = setTimeout(() => void this.attempt(), delay);
    this.timer.unref?.();
  }
}

const SET_DATA_FRAME = encodeAmf0("@setDataFrame");
