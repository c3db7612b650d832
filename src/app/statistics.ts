/**
 * What the HTTP API, the hooks and the metrics report of the server, in SRS's shapes
 * (SrsStatistic's dumps, see docs/api.md): vhosts, streams and clients, read from the live
 * objects at the moment of the request (a client shows up as soon as it connects and is
 * gone when it leaves), with 30 s kbps from samples taken every SAMPLE_MS.
 *
 * Ids: streams and vhosts have SRS's "vid-" ids; clients are the connection ids of the
 * logs, as strings.
 */
import type { SluiceConfig, VhostConfig } from "../conf/config.js";
import { PROCESS_IDS, randomId } from "../core/ids.js";
import { audioInfoOf, videoInfoOf, type AudioInfo, type VideoInfo } from "../format/codec-info.js";
import { Amf0EcmaArray, decodeAmf0 } from "../protocol/rtmp/amf0.js";
import type { Source } from "../stream/source.js";
import type { FlvClient } from "./http-routes.js";
import type { RtmpServer } from "./rtmp-server.js";

export interface Kbps {
  recv_30s: number;
  send_30s: number;
}

export interface VhostStat {
  id: string;
  name: string;
  enabled: boolean;
  clients: number;
  streams: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: Kbps;
  hls: { enabled: boolean; fragment?: number };
}

export interface StreamStat {
  id: string;
  name: string;
  vhost: string;
  app: string;
  tcUrl: string;
  url: string;
  live_ms: number;
  clients: number;
  frames: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: Kbps;
  publish: { active: boolean; cid?: string };
  video: VideoInfo | null;
  audio: AudioInfo | null;
}

export type ClientType = "fmle-publish" | "rtmp-play" | "flv-play" | "Unknown";

export interface ClientStat {
  id: string;
  vhost: string;
  stream: string;
  ip: string;
  pageUrl: string;
  swfUrl: string;
  tcUrl: string;
  url: string;
  name: string;
  type: ClientType;
  publish: boolean;
  alive: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: Kbps;
}

/** A client as the statistics see it, with what a kick needs. */
interface ClientEntry {
  stat: ClientStat;
  /** Closes the client; undefined when it cannot be kicked. */
  kick: () => void;
}

/** What the statistics read; the app assembles it (RtmpServer and the HTTP-FLV routes). */
export interface StatisticsSources {
  readonly rtmp: RtmpServer;
  /** HTTP-FLV and WS-FLV players now connected, and the bytes sent to those gone. */
  flvClients(): Iterable<FlvClient>;
  flvClosedBytes(): number;
  /** HTTP-FLV and WS-FLV players ever attached. */
  flvClientsTotal(): number;
  /** The supervised ffmpeg children (ingest, transcode), as the API lists them. */
  children?(): object[];
}

const SAMPLE_MS = 5000;
const WINDOW_MS = 30_000;

interface Sample {
  at: number;
  sent: number;
  recv: number;
}

/** Kbps over the last 30 s from counters sampled every SAMPLE_MS. */
class KbpsTracker {
  private readonly samples = new Map<string, Sample[]>();

  record(id: string, at: number, sent: number, recv: number): void {
    let list = this.samples.get(id);
    if (!list) this.samples.set(id, (list = []));
    list.push({ at, sent, recv });
    while (list.length > 1 && at - list[0]!.at > WINDOW_MS) list.shift();
  }

  /** Forgets every id not in `live`. */
  retain(live: Set<string>): void {
    for (const id of this.samples.keys()) if (!live.has(id)) this.samples.delete(id);
  }

  kbps(id: string, now: number, sent: number, recv: number): Kbps {
    const first = this.samples.get(id)?.[0];
    if (!first || now - first.at < 500) return { recv_30s: 0, send_30s: 0 };
    const secs = (now - first.at) / 1000;
    return {
      recv_30s: Math.max(0, Math.round(((recv - first.recv) * 8) / 1000 / secs)),
      send_30s: Math.max(0, Math.round(((sent - first.sent) * 8) / 1000 / secs)),
    };
  }
}

/** "/app/stream", with the vhost first unless it is the default one (SRS's stream url). */
export function streamUrl(vhost: string, app: string, stream: string): string {
  return vhost === "__defaultVhost__" ? `/${app}/${stream}` : `${vhost}/${app}/${stream}`;
}

export class Statistics {
  /** SRS's server id and service id (the API envelope and hooks). */
  readonly serverId = PROCESS_IDS.serverId;
  readonly serviceId = PROCESS_IDS.serviceId;
  readonly startedAt = Date.now();
  /** Clients ever seen (RTMP connections, HTTP-FLV and WS-FLV players), for the metrics. */
  get clientsTotal(): number {
    return this.from.rtmp.acceptedTotal + this.from.flvClientsTotal();
  }
  /** RTMP connections that ended with an error (a protocol or socket error, a timeout). */
  get clientErrors(): number {
    return this.from.rtmp.erroredTotal;
  }

  private readonly vhostIds = new Map<string, string>();
  private readonly kbps = new KbpsTracker();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: StatisticsSources,
    private readonly config: () => SluiceConfig,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The ffmpeg children (GET /api/v1/ffmpegs). */
  children(): object[] {
    return this.from.children?.() ?? [];
  }

  vhostId(name: string): string {
    let id = this.vhostIds.get(name);
    if (!id) this.vhostIds.set(name, (id = randomId("vid-", 7)));
    return id;
  }

  streams(): StreamStat[] {
    const now = Date.now();
    const clientsOf = this.clientCounts();
    const out: StreamStat[] = [];
    for (const s of this.from.rtmp.registry.all()) out.push(this.streamStat(s, now, clientsOf.get(s) ?? 0));
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  stream(id: string): StreamStat | undefined {
    return this.streams().find((s) => s.id === id);
  }

  clients(): ClientStat[] {
    return this.clientEntries().map((e) => e.stat);
  }

  client(id: string): ClientStat | undefined {
    return this.clientEntries().find((e) => e.stat.id === id)?.stat;
  }

  /** Closes client `id`: "kicked", or "not-found". */
  kick(id: string): "kicked" | "not-found" {
    const entry = this.clientEntries().find((e) => e.stat.id === id);
    if (!entry) return "not-found";
    entry.kick();
    return "kicked";
  }

  vhosts(): VhostStat[] {
    const now = Date.now();
    const streams = this.streams();
    const clients = this.clients();
    const out: VhostStat[] = [];
    for (const v of this.config().vhosts.values()) {
      const id = this.vhostId(v.name);
      const mine = streams.filter((s) => s.vhost === id);
      let sent = 0;
      let recv = 0;
      for (const s of mine) {
        sent += s.send_bytes;
        recv += s.recv_bytes;
      }
      out.push({
        id,
        name: v.name,
        enabled: v.enabled,
        clients: clients.filter((c) => c.vhost === id).length,
        streams: mine.filter((s) => s.publish.active).length,
        send_bytes: sent,
        recv_bytes: recv,
        kbps: this.kbps.kbps(id, now, sent, recv),
        hls: hlsOf(v),
      });
    }
    return out;
  }

  vhost(id: string): VhostStat | undefined {
    return this.vhosts().find((v) => v.id === id);
  }

  /** Server-wide totals (metrics, summaries). */
  totals(): { sendBytes: number; recvBytes: number } {
    const t = this.from.rtmp.totalBytes();
    let sent = t.out;
    for (const c of this.from.flvClients()) sent += c.player.bytesOut;
    return { sendBytes: sent + this.from.flvClosedBytes(), recvBytes: t.in };
  }

  private streamStat(s: Source, now: number, clients: number): StreamStat {
    const sent = s.bytesOut;
    const recv = s.stats.bytesIn;
    const stat: StreamStat = {
      id: s.id,
      name: s.stream,
      vhost: this.vhostId(s.vhost),
      app: s.app,
      tcUrl: s.tcUrl,
      url: streamUrl(s.vhost, s.app, s.stream),
      live_ms: now,
      clients: clients + (s.publisher ? 1 : 0),
      frames: s.stats.videoMessages,
      send_bytes: sent,
      recv_bytes: recv,
      kbps: this.kbps.kbps(s.id, now, sent, recv),
      publish: s.publisher ? { active: true, cid: String(s.publisher.id) } : { active: false },
      video: s.publisher && s.videoSequenceHeader ? videoInfoOf(s.videoSequenceHeader.payload) : null,
      audio: s.publisher ? this.audioOf(s) : null,
    };
    if (stat.video && (stat.video.width === 0 || stat.video.height === 0)) {
      const meta = metadataSize(s);
      if (meta) Object.assign(stat.video, meta);
    }
    return stat;
  }

  private audioOf(s: Source): AudioInfo | null {
    if (s.audioSequenceHeader) return audioInfoOf(s.audioSequenceHeader.payload);
    if (s.audioFlags >= 0) return audioInfoOf(Buffer.from([s.audioFlags]));
    return null;
  }

  /** Players per source, of every kind that has a client (RTMP, HTTP-FLV, WS-FLV). */
  private clientCounts(): Map<Source, number> {
    const counts = new Map<Source, number>();
    for (const [conn] of this.from.rtmp.connections()) {
      for (const st of conn.streams()) if (st.kind === "play") counts.set(st.source, (counts.get(st.source) ?? 0) + 1);
    }
    for (const c of this.from.flvClients()) counts.set(c.source, (counts.get(c.source) ?? 0) + 1);
    return counts;
  }

  private clientEntries(): ClientEntry[] {
    const now = Date.now();
    const nowPerf = performance.now();
    const out: ClientEntry[] = [];
    for (const [conn, session] of this.from.rtmp.connections()) {
      const req = session.connect;
      const first = conn.streams()[Symbol.iterator]().next();
      const st = first.done ? undefined : first.value;
      const id = String(session.id);
      const vhostName = st?.source.vhost ?? conn.vhost?.name ?? "__defaultVhost__";
      const stat: ClientStat = {
        id,
        vhost: this.vhostId(vhostName),
        stream: st?.source.id ?? "",
        ip: session.ip,
        pageUrl: req?.pageUrl ?? "",
        swfUrl: req?.swfUrl ?? "",
        tcUrl: req?.tcUrl ?? "",
        url: st ? streamUrl(st.source.vhost, st.source.app, st.source.stream) : "",
        name: st?.name ?? "",
        type: st ? (st.kind === "publish" ? "fmle-publish" : "rtmp-play") : "Unknown",
        publish: st?.kind === "publish",
        alive: Math.round((nowPerf - session.startedAt) / 10) / 100,
        send_bytes: session.bytesOut,
        recv_bytes: session.bytesIn,
        kbps: this.kbps.kbps(`c${id}`, now, session.bytesOut, session.bytesIn),
      };
      out.push({ stat, kick: () => session.close(undefined) });
    }
    for (const c of this.from.flvClients()) {
      const id = String(c.id);
      const s = c.source;
      const stat: ClientStat = {
        id,
        vhost: this.vhostId(s.vhost),
        stream: s.id,
        ip: c.ip,
        pageUrl: c.pageUrl,
        swfUrl: "",
        tcUrl: s.tcUrl,
        url: streamUrl(s.vhost, s.app, s.stream),
        name: c.url.slice(c.url.lastIndexOf("/") + 1),
        type: "flv-play",
        publish: false,
        alive: Math.round((now - c.startedAt) / 10) / 100,
        send_bytes: c.player.bytesOut,
        recv_bytes: 0,
        kbps: this.kbps.kbps(`c${id}`, now, c.player.bytesOut, 0),
      };
      out.push({ stat, kick: () => c.close() });
    }
    return out;
  }

  private sample(): void {
    const now = Date.now();
    const live = new Set<string>();
    const record = (id: string, sent: number, recv: number): void => {
      live.add(id);
      this.kbps.record(id, now, sent, recv);
    };
    const perVhost = new Map<string, { sent: number; recv: number }>();
    for (const s of this.from.rtmp.registry.all()) {
      const sent = s.bytesOut;
      const recv = s.stats.bytesIn;
      record(s.id, sent, recv);
      const v = perVhost.get(s.vhost) ?? { sent: 0, recv: 0 };
      v.sent += sent;
      v.recv += recv;
      perVhost.set(s.vhost, v);
    }
    for (const [name, v] of perVhost) record(this.vhostId(name), v.sent, v.recv);
    for (const [, session] of this.from.rtmp.connections()) record(`c${session.id}`, session.bytesOut, session.bytesIn);
    for (const c of this.from.flvClients()) record(`c${c.id}`, c.player.bytesOut, 0);
    this.kbps.retain(live);
  }
}

function hlsOf(v: VhostConfig): { enabled: boolean; fragment?: number } {
  return v.hls.enabled ? { enabled: true, fragment: v.hls.fragment } : { enabled: false };
}

/** Width and height from onMetaData, when the SPS could not say. */
function metadataSize(s: Source): { width: number; height: number } | null {
  if (!s.metadata) return null;
  try {
    // Stored as ["onMetaData", {width, height, ...}].
    const body = decodeAmf0(s.metadata.payload)[1];
    if (!body || typeof body !== "object") return null;
    const props = body instanceof Amf0EcmaArray ? body.entries : (body as Record<string, unknown>);
    const w = props["width"];
    const h = props["height"];
    return typeof w === "number" && typeof h === "number" && w > 0 && h > 0 ? { width: Math.round(w), height: Math.round(h) } : null;
  } catch {
    return null;
  }
}
