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
import { encodeAmf0, type Amf0Object } from "../../protocol/rtmp/amf0.js";
import { RtmpClient, type RtmpUrl } from "../../protocol/rtmp/client-session.js";
import type { Consumer } from "../../stream/consumer.js";
import { ConsumerQueue, type QueueLimits } from "../../stream/consumer-queue.js";
import { MessageFlags, type SharedMessage } from "../../stream/shared-message.js";
import type { Source } from "../../stream/source.js";
import { parseEndpoint } from "./upstream-identity.js";

/** Backoff after every endpoint failed in a row: 1 s, doubling, at most 30 s. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;
/** A publish that lasted this long was healthy: its loss fails over at once. */
const STABLE_MS = 5000;
/** Bytes the socket may hold unsent before we stop writing (the queue then bounds it). */
const SOCKET_BYTES = 4 * 1024 * 1024;

/** The delay before attempt `failures + 1` over `endpoints` endpoints. */
export function retryDelay(failures: number, endpoints: number): number {
  if (failures <= 0) return 0;
  // The next endpoint is tried at once until each has failed once in this round.
  if (failures % endpoints !== 0) return 0;
  const rounds = failures / endpoints;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (rounds - 1));
}

/**
 * `rtmp://host:port/app[?vhost=v]` and `stream[?param]`, as SRS's srs_generate_rtmp_url:
 * the vhost travels in the app's query (none for the default vhost: the destination picks
 * its own by host), the publisher's param on the stream name.
 */
export function upstreamUrl(endpoint: string, vhost: string, app: string, stream: string, param: string): RtmpUrl {
  const { host, port } = parseEndpoint(endpoint);
  const appWithQuery = vhost ? `${app}?vhost=${vhost}` : app;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  const query = param.startsWith("?") ? param.slice(1) : param;
  return {
    host,
    port,
    app: appWithQuery,
    stream: query ? `${stream}?${query}` : stream,
    tcUrl: `rtmp://${hostInUrl}:${port}/${appWithQuery}`,
    query: query || (vhost ? `vhost=${vhost}` : ""),
  };
}

export interface RtmpForwarderOptions {
  /** What the log calls this push: "forward", "edge push". */
  label: string;
  /** HOST[:PORT] of the destinations, in failover order (one for a forward). */
  endpoints: readonly string[];
  /** The vhost named to the destination ("" for none: the default vhost). */
  vhost: string;
  /** The publisher's param (`?token=...`), passed on with the stream name. */
  param: string;
  /** Extra connect properties and arguments (upstream-identity.ts). */
  connectProperties?: Amf0Object;
  connectArgs?: Amf0Object;
  pageUrl?: string;
  queue: QueueLimits;
  chunkSize: number;
  /** The log context (the publisher's client id). */
  logId: number;
  /**
   * The destination refused the publish (an `_error` or error-level onStatus): return true
   * to stop for good (an edge closes its publisher), false to retry as after any failure.
   */
  onRefused?(err: SluiceError, endpoint: string): boolean;
  /** Bound on each step of an attempt (connect, createStream, publish); default 10 s. */
  timeoutMs?: number;
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
  private index = 0;
  private failures = 0;
  private liveAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Source,
    private readonly opts: RtmpForwarderOptions,
  ) {
    if (opts.endpoints.length === 0) throw new SluiceError("ERR_RTMP_COMMAND", `${opts.label}: no destination`);
    this.queue = new ConsumerQueue(opts.queue, false);
  }

  /** The endpoint tried or used now. */
  get endpoint(): string {
    return this.opts.endpoints[this.index]!;
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
    const client = new RtmpClient(url, {
      chunkSize: this.opts.chunkSize,
      timeoutMs: this.opts.timeoutMs ?? 10_000,
      pageUrl: this.opts.pageUrl ?? "",
      ...(this.opts.connectProperties ? { connectProperties: this.opts.connectProperties } : {}),
      ...(this.opts.connectArgs ? { connectArgs: this.opts.connectArgs } : {}),
    });
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
    if (stable) this.failures = 0;
    this.retry(`${this.opts.label} ${this.source.key} to ${this.endpoint} lost after ${(lasted / 1000).toFixed(1)}s: ${err ? err.message : "closed by the destination"}`, stable);
  }

  /** Schedules the next attempt, on the next endpoint; `now`: at once, not counted as a failure. */
  private retry(why: string, now = false): void {
    if (!now) this.failures++;
    this.index = (this.index + 1) % this.opts.endpoints.length;
    const delay = now ? 0 : retryDelay(this.failures, this.opts.endpoints.length);
    this.state = "waiting";
    log.warn(this.opts.logId, `${why}; ${delay > 0 ? `retry in ${delay / 1000}s` : "retry now"}${this.opts.endpoints.length > 1 ? ` with ${this.endpoint}` : ""}`);
    this.timer = setTimeout(() => void this.attempt(), delay);
    this.timer.unref?.();
  }
}

const SET_DATA_FRAME = encodeAmf0("@setDataFrame");
