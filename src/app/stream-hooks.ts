/**
 * The hook events of clients and streams, with SRS's bodies (srs_app_http_hooks.cpp, see
 * docs/hooks.md): who calls what, when. A deciding event returns null when the vhost has no
 * URL for it, so that a server without hooks stays synchronous and pays nothing.
 */
import type { VhostConfig } from "../conf/config.js";
import type { StreamRegistry } from "../stream/stream-registry.js";
import type { HookDecision, HttpHooks } from "./http-hooks.js";
import { streamUrl } from "./statistics.js";

/** A client as hooks describe it. */
export interface HookClient {
  id: number;
  ip: string;
  vhost: VhostConfig;
  app: string;
  tcUrl: string;
  pageUrl: string;
}

/** The stream a publish/play names: its name and query string with the "?" (SRS's param). */
export interface HookStream {
  stream: string;
  param: string;
}

export interface HookIds {
  readonly serverId: string;
  readonly serviceId: string;
}

/** What on_hls tells of a segment. */
export interface HlsSegmentEvent {
  duration: number;
  /** Paths on disk (relative to cwd when hls_path is), and URLs relative to hls_path. */
  file: string;
  url: string;
  m3u8: string;
  m3u8Url: string;
  seq: number;
}

export class StreamHooks {
  constructor(
    private readonly http: HttpHooks,
    private readonly ids: HookIds,
    private readonly registry: StreamRegistry,
  ) {}

  /** on_connect: null when not configured. */
  connect(c: HookClient, s: HookStream): Promise<HookDecision> | null {
    const urls = this.urls(c.vhost, "onConnect");
    if (!urls) return null;
    return this.http.check("on_connect", urls, { ...this.common("on_connect", c), stream: s.stream, param: s.param, tcUrl: c.tcUrl, pageUrl: c.pageUrl }, this.timeout(c), c.id);
  }

  close(c: HookClient, sendBytes: number, recvBytes: number): void {
    const urls = this.urls(c.vhost, "onClose");
    if (urls) this.http.notify("on_close", urls, { ...this.common("on_close", c), send_bytes: sendBytes, recv_bytes: recvBytes }, this.timeout(c), c.id);
  }

  publish(c: HookClient, s: HookStream): Promise<HookDecision> | null {
    const urls = this.urls(c.vhost, "onPublish");
    if (!urls) return null;
    return this.http.check("on_publish", urls, this.streamBody("on_publish", c, s), this.timeout(c), c.id);
  }

  unpublish(c: HookClient, s: HookStream): void {
    const urls = this.urls(c.vhost, "onUnpublish");
    if (urls) this.http.notify("on_unpublish", urls, this.streamBody("on_unpublish", c, s), this.timeout(c), c.id);
  }

  play(c: HookClient, s: HookStream): Promise<HookDecision> | null {
    const urls = this.urls(c.vhost, "onPlay");
    if (!urls) return null;
    return this.http.check("on_play", urls, { ...this.streamBody("on_play", c, s), pageUrl: c.pageUrl }, this.timeout(c), c.id);
  }

  stop(c: HookClient, s: HookStream): void {
    const urls = this.urls(c.vhost, "onStop");
    if (urls) this.http.notify("on_stop", urls, this.streamBody("on_stop", c, s), this.timeout(c), c.id);
  }

  /** on_hls: a segment was written (the publisher is the client). */
  hls(c: HookClient, s: HookStream, seg: HlsSegmentEvent): void {
    const urls = this.urls(c.vhost, "onHls");
    if (!urls) return;
    this.http.notify(
      "on_hls",
      urls,
      {
        ...this.common("on_hls", c),
        tcUrl: c.tcUrl,
        stream: s.stream,
        param: s.param,
        duration: Math.round(seg.duration * 100) / 100,
        cwd: process.cwd(),
        file: seg.file,
        url: seg.url,
        m3u8: seg.m3u8,
        m3u8_url: seg.m3u8Url,
        seq_no: seg.seq,
        ...this.streamIds(c, s),
      },
      this.timeout(c),
      c.id,
    );
  }

  /** on_dvr: a DVR file was completed and renamed to `file` (the publisher is the client). */
  dvr(c: HookClient, s: HookStream, file: string): void {
    const urls = this.urls(c.vhost, "onDvr");
    if (!urls) return;
    this.http.notify(
      "on_dvr",
      urls,
      { ...this.common("on_dvr", c), tcUrl: c.tcUrl, stream: s.stream, param: s.param, cwd: process.cwd(), file, ...this.streamIds(c, s) },
      this.timeout(c),
      c.id,
    );
  }

  private urls(vhost: VhostConfig, key: "onConnect" | "onClose" | "onPublish" | "onUnpublish" | "onPlay" | "onStop" | "onHls" | "onDvr"): readonly string[] | null {
    const h = vhost.httpHooks;
    return h.enabled && h[key].length > 0 ? h[key] : null;
  }

  private timeout(c: HookClient): number {
    return c.vhost.httpHooks.timeout * 1000;
  }

  private common(action: string, c: HookClient): Record<string, unknown> {
    return {
      server_id: this.ids.serverId,
      service_id: this.ids.serviceId,
      action,
      client_id: String(c.id),
      ip: c.ip,
      vhost: c.vhost.name,
      app: c.app,
    };
  }

  private streamBody(action: string, c: HookClient, s: HookStream): Record<string, unknown> {
    return { ...this.common(action, c), tcUrl: c.tcUrl, stream: s.stream, param: s.param, ...this.streamIds(c, s) };
  }

  /** stream_url always; stream_id when the stream exists now (as SRS). */
  private streamIds(c: HookClient, s: HookStream): Record<string, string> {
    const source = this.registry.get(c.vhost.name, c.app, s.stream);
    const url = streamUrl(c.vhost.name, c.app, s.stream);
    return source ? { stream_url: url, stream_id: source.id } : { stream_url: url };
  }
}
