/**
 * What every connection this server makes to another RTMP server shares (a forward, an
 * edge's push to its origin, an edge's pull): the URL it names (SRS's form), how its
 * RtmpClient is set up, and how it moves along its list of endpoints with backoff when
 * one fails.
 */
import type { Amf0Object } from "../../protocol/rtmp/amf0.js";
import { RtmpClient, type RtmpUrl } from "../../protocol/rtmp/client-session.js";
import { parseEndpoint } from "./upstream-identity.js";

/** Backoff after every endpoint failed in a row: 1 s, doubling, at most 30 s. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

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

/** How an upstream connection's RtmpClient is made. */
export interface UpstreamClientOptions {
  chunkSize: number;
  /** Bound on each step (connect, createStream, publish or play); default 10 s. */
  timeoutMs?: number;
  pageUrl?: string;
  /** Extra connect properties and arguments (upstream-identity.ts). */
  connectProperties?: Amf0Object;
  connectArgs?: Amf0Object;
}

export function upstreamClient(url: RtmpUrl, o: UpstreamClientOptions): RtmpClient {
  return new RtmpClient(url, {
    chunkSize: o.chunkSize,
    timeoutMs: o.timeoutMs ?? 10_000,
    pageUrl: o.pageUrl ?? "",
    ...(o.connectProperties ? { connectProperties: o.connectProperties } : {}),
    ...(o.connectArgs ? { connectArgs: o.connectArgs } : {}),
  });
}

/**
 * The endpoint an upstream connection uses, and the next one after a failure: in list
 * order, wrapping; at once after a connection that was healthy, else with retryDelay's
 * backoff once every endpoint has failed in a row.
 */
export class Failover {
  /** Failures in a row (a healthy connection resets it). */
  failures = 0;
  private index = 0;

  constructor(readonly endpoints: readonly string[]) {}

  get current(): string {
    return this.endpoints[this.index]!;
  }

  /** Moves to the next endpoint; returns the delay before trying it (`now`: 0, not counted as a failure). */
  next(now: boolean): number {
    if (!now) this.failures++;
    this.index = (this.index + 1) % this.endpoints.length;
    return now ? 0 : retryDelay(this.failures, this.endpoints.length);
  }

  /** The end of a retry's log line: "retry in 2s with host:port". */
  describe(delay: number): string {
    return `${delay > 0 ? `retry in ${delay / 1000}s` : "retry now"}${this.endpoints.length > 1 ? ` with ${this.current}` : ""}`;
  }
}
