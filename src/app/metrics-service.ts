/**
 * `/metrics` (Prometheus text format, prom-client) and SRS's `exporter { }` block.
 *
 * MetricsCollector registers, on the server's registry (core/metrics.ts), what is read
 * from the live server at scrape time: SRS's exporter metrics under SRS's names and
 * meanings (SRS >= 5.0.67, srs_app_http_api.cpp SrsGoApiMetrics), so that SRS dashboards
 * work, and Sluice's own, prefixed `sluice_`. docs/metrics.md lists them all.
 *
 * Counters of things that live and die (a player's dropped messages, an HLS stream's
 * segments) are running totals: each source's last value is remembered (WeakMap) and the
 * difference added at every scrape and every SAMPLE_MS, so a player that leaves takes
 * with it at most what it counted since the last sample.
 *
 * This module loads prom-client: src/main.ts imports it only once the exporter is enabled
 * (a server without it carries neither the module nor the 5 s sampler). The HTTP side,
 * /metrics and the exporter's port, is metrics-http.ts.
 */
import fs from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Counter, Gauge, type Registry } from "prom-client";
import type { ExporterConfig, SluiceConfig } from "../conf/config.js";
import { log } from "../core/logger.js";
import { collectProcessMetrics, metricsRegistry } from "../core/metrics.js";
import type { HlsStreamStats } from "../outputs/hls/hls-stream.js";
import { VERSION } from "../version.js";
import type { StreamRoutes } from "./http-routes.js";
import type { RtmpServer } from "./rtmp-server.js";
import type { ClientType, Statistics } from "./statistics.js";

/** How often running totals take their deltas between scrapes. */
const SAMPLE_MS = 5000;
/** srs_cpu_percent is recomputed when the last figure is older than this. */
const CPU_WINDOW_MS = 1000;

const CLIENT_TYPES: readonly ClientType[] = ["fmle-publish", "rtmp-play", "flv-play", "Unknown"];
export type PlayerProtocol = "rtmp" | "http-flv" | "ws-flv";
const PROTOCOLS: readonly PlayerProtocol[] = ["rtmp", "http-flv", "ws-flv"];
const HLS_COUNTS = ["segments", "bytes", "muxErrors", "skippedFrames"] as const;

/** What a player's queue counts (RtmpPlayer, HttpFlvPlayer). */
export interface QueueCounts {
  readonly queuedMessages: number;
  readonly droppedMessages: number;
  readonly drops: number;
}

/** What the metrics read; serverMetricsSources() assembles it from the live server. */
export interface MetricsSources {
  readonly stats: Pick<Statistics, "serverId" | "serviceId" | "streams" | "clients" | "totals" | "clientsTotal" | "clientErrors">;
  /** Every player now connected, RTMP, HTTP-FLV and WS-FLV. */
  players(): Iterable<{ protocol: PlayerProtocol; player: QueueCounts }>;
  /** Every HLS stream the server keeps (publishing or waiting for hls_dispose). */
  hlsStreams(): Iterable<{ readonly stats: HlsStreamStats }>;
  /** exporter { label; tag; } now in force. */
  exporter(): Pick<ExporterConfig, "label" | "tag">;
}

export function serverMetricsSources(
  stats: MetricsSources["stats"],
  rtmp: RtmpServer,
  routes: Pick<StreamRoutes, "clients">,
  config: () => SluiceConfig,
): MetricsSources {
  return {
    stats,
    *players() {
      for (const [conn] of rtmp.connections()) for (const p of conn.players) yield { protocol: "rtmp", player: p.player };
      for (const c of routes.clients) yield { protocol: c.kind, player: c.player };
    },
    hlsStreams: () => rtmp.hls.all(),
    exporter: () => config().exporter,
  };
}

interface PlayerFigures {
  count: number;
  queued: number;
  maxQueued: number;
}

/** One scrape's reading of the live server, shared by the metrics of that scrape. */
interface Snapshot {
  streams: number;
  publishing: number;
  clients: Map<ClientType, number>;
  clientCount: number;
  players: Map<PlayerProtocol, PlayerFigures>;
  hlsStreams: number;
}

export class MetricsCollector {
  private readonly lastPlayer = new WeakMap<QueueCounts, { dropped: number; drops: number }>();
  private readonly lastHls = new WeakMap<HlsStreamStats, HlsStreamStats>();
  private readonly framesDropped: Counter<"reason">;
  private readonly overflows: Counter<"protocol">;
  private readonly hlsSegments: Counter;
  private readonly hlsBytes: Counter;
  private snap: Snapshot | undefined;
  private cpu = { at: performance.now(), usage: process.cpuUsage(), percent: 0 };
  private timer: NodeJS.Timeout | undefined;

  /**
   * Registers the metrics on `registry` (once per registry), with Node's process
   * metrics unless `processMetrics` is false.
   */
  constructor(
    private readonly from: MetricsSources,
    registry: Registry = metricsRegistry,
    options: { processMetrics?: boolean } = {},
  ) {
    if (options.processMetrics !== false) collectProcessMetrics(registry);
    const registers = [registry];
    const snap = (): Snapshot => this.snapshot();
    // A gauge, or a counter kept by the server (read whole), read at each scrape.
    const gauge = (name: string, help: string, read: () => number): void => {
      const g: Gauge = new Gauge({ name, help, registers, collect: () => g.set(read()) });
    };
    const counter = (name: string, help: string, read: () => number): void => {
      const c: Counter = new Counter({
        name,
        help,
        registers,
        collect: () => {
          c.reset();
          c.inc(Math.max(0, read()));
        },
      });
    };

    // --- SRS's exporter, same names, types and meanings.
    if (process.platform === "linux" || process.platform === "darwin") {
      const uname = new Gauge({
        name: "srs_node_uname_info",
        help: "Labeled system information as provided by the uname system call.",
        labelNames: ["sysname", "nodename", "release", "version", "machine"],
        registers,
      });
      uname.set({ sysname: os.type(), nodename: os.hostname(), release: os.release(), version: os.version(), machine: os.machine() }, 1);
    }
    const build = { date: buildDate(), major: VERSION.split(".")[0] ?? "0" };
    const buildInfo: Gauge = new Gauge({
      name: "srs_build_info",
      help:
        "A metric with a constant '1' value labeled by build_date, version from which Sluice was built " +
        "(label and tag from exporter { }).",
      labelNames: ["server", "service", "pid", "build_date", "major", "version", "code", "label", "tag"],
      registers,
      collect: () => {
        buildInfo.reset();
        const { label, tag } = from.exporter();
        const labels: Record<string, string> = {
          server: from.stats.serverId,
          service: from.stats.serviceId,
          pid: String(process.pid),
          build_date: build.date,
          major: build.major,
          version: VERSION,
          code: "Sluice",
        };
        // As SRS: omitted when empty.
        if (label) labels["label"] = label;
        if (tag) labels["tag"] = tag;
        buildInfo.set(labels, 1);
      },
    });
    gauge(
      "srs_cpu_percent",
      "CPU used by the process, percent of one core (100 = one core busy), over the time since the previous figure (at least 1 s).",
      () => this.cpuPercent(),
    );
    gauge("srs_memory", "Memory used by the process: resident set size in KiB (SRS: rss pages x 4).", () =>
      Math.round(process.memoryUsage.rss() / 1024),
    );
    counter(
      "srs_send_bytes_total",
      "Bytes sent by the server to every client (RTMP, HTTP-FLV, WS-FLV), since start.",
      () => from.stats.totals().sendBytes,
    );
    counter(
      "srs_receive_bytes_total",
      "Bytes received by the server from every RTMP client, since start.",
      () => from.stats.totals().recvBytes,
    );
    gauge("srs_streams", "The number of streams the server tracks now (as /api/v1/streams).", () => snap().streams);
    gauge("srs_clients", "The number of clients connected now (as /api/v1/clients).", () => snap().clientCount);
    counter("srs_clients_total", "Clients ever connected, since start.", () => from.stats.clientsTotal);
    counter("srs_clients_errs_total", "Clients that ended with an error, since start.", () => from.stats.clientErrors);

    // --- Sluice's own.
    gauge("sluice_streams_publishing", "Streams with a publisher now.", () => snap().publishing);
    const clients: Gauge<"type"> = new Gauge({
      name: "sluice_clients",
      help:
        "Clients connected now, by type as /api/v1/clients says it " +
        "(fmle-publish, rtmp-play, flv-play, Unknown: connected, not yet publishing or playing).",
      labelNames: ["type"],
      registers,
      collect: () => {
        for (const [type, n] of snap().clients) clients.set({ type }, n);
      },
    });
    const perProtocol = (name: string, help: string, pick: (p: PlayerFigures) => number): void => {
      const g: Gauge<"protocol"> = new Gauge({
        name,
        help,
        labelNames: ["protocol"],
        registers,
        collect: () => {
          for (const [protocol, p] of snap().players) g.set({ protocol }, pick(p));
        },
      });
    };
    perProtocol("sluice_players", "Players connected now, by protocol (rtmp, http-flv, ws-flv).", (p) => p.count);
    perProtocol("sluice_player_queue_messages", "Messages queued for players now, summed over the players of a protocol.", (p) => p.queued);
    perProtocol("sluice_player_queue_messages_max", "The longest player queue now, in messages, by protocol.", (p) => p.maxQueued);
    // Running totals: incremented by scanOutputs(), which a scrape runs through snap().
    this.overflows = new Counter({
      name: "sluice_player_queue_overflows_total",
      help: "Times a player fell behind (its queue passed queue_length or its byte bound) and skipped to the next keyframe, by protocol.",
      labelNames: ["protocol"],
      registers,
      collect: () => void snap(),
    });
    this.framesDropped = new Counter({
      name: "sluice_frames_dropped_total",
      help:
        "Audio and video frames not delivered, by reason: player_queue (a player's queue: skipped after an overflow, " +
        "waiting for a keyframe after a join or republish, discarded on pause), hls_mux_error (the TS muxer refused the frame), " +
        "hls_skipped (HLS: before the first keyframe, or stripped by hls_acodec an / hls_vcodec vn).",
      labelNames: ["reason"],
      registers,
      collect: () => void snap(),
    });
    gauge("sluice_hls_streams", "HLS streams kept now (publishing, or waiting for hls_dispose).", () => snap().hlsStreams);
    const hlsCounter = (name: string, help: string): Counter => new Counter({ name, help, registers, collect: () => void snap() });
    this.hlsSegments = hlsCounter("sluice_hls_segments_total", "HLS segments written, since start.");
    this.hlsBytes = hlsCounter("sluice_hls_bytes_total", "Bytes of HLS segments written, since start.");
    // Every label value present from the first scrape, at 0, so that rate() sees the start.
    for (const protocol of PROTOCOLS) this.overflows.inc({ protocol }, 0);
    for (const reason of ["player_queue", "hls_mux_error", "hls_skipped"]) this.framesDropped.inc({ reason }, 0);
  }

  /** Takes the running totals' deltas every SAMPLE_MS between scrapes. */
  start(): void {
    this.timer ??= setInterval(() => this.scanOutputs(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the live server once per scrape: prom-client calls every metric's collect in
   * one synchronous pass, so the reading is kept until the next microtask.
   */
  private snapshot(): Snapshot {
    if (this.snap) return this.snap;
    const streams = this.from.stats.streams();
    const clients = new Map<ClientType, number>(CLIENT_TYPES.map((t) => [t, 0]));
    const list = this.from.stats.clients();
    for (const c of list) clients.set(c.type, (clients.get(c.type) ?? 0) + 1);
    const snap: Snapshot = {
      streams: streams.length,
      publishing: streams.filter((s) => s.publish.active).length,
      clients,
      clientCount: list.length,
      ...this.scanOutputs(),
    };
    this.snap = snap;
    queueMicrotask(() => (this.snap = undefined));
    return snap;
  }

  /** Adds the players' and HLS streams' counts since the last look to the running totals. */
  private scanOutputs(): Pick<Snapshot, "players" | "hlsStreams"> {
    const players = new Map<PlayerProtocol, PlayerFigures>(PROTOCOLS.map((p) => [p, { count: 0, queued: 0, maxQueued: 0 }]));
    let dropped = 0;
    for (const { protocol, player } of this.from.players()) {
      const p = players.get(protocol)!;
      const queued = player.queuedMessages;
      p.count++;
      p.queued += queued;
      if (queued > p.maxQueued) p.maxQueued = queued;
      const last = this.lastPlayer.get(player);
      const now = { dropped: player.droppedMessages, drops: player.drops };
      dropped += Math.max(0, now.dropped - (last?.dropped ?? 0));
      const overflows = Math.max(0, now.drops - (last?.drops ?? 0));
      if (overflows > 0) this.overflows.inc({ protocol }, overflows);
      this.lastPlayer.set(player, now);
    }
    if (dropped > 0) this.framesDropped.inc({ reason: "player_queue" }, dropped);
    let hlsStreams = 0;
    const hls = { segments: 0, bytes: 0, muxErrors: 0, skippedFrames: 0 };
    for (const { stats } of this.from.hlsStreams()) {
      hlsStreams++;
      const last = this.lastHls.get(stats);
      for (const k of HLS_COUNTS) hls[k] += Math.max(0, stats[k] - (last?.[k] ?? 0));
      this.lastHls.set(stats, { ...stats });
    }
    if (hls.segments > 0) this.hlsSegments.inc(hls.segments);
    if (hls.bytes > 0) this.hlsBytes.inc(hls.bytes);
    if (hls.muxErrors > 0) this.framesDropped.inc({ reason: "hls_mux_error" }, hls.muxErrors);
    if (hls.skippedFrames > 0) this.framesDropped.inc({ reason: "hls_skipped" }, hls.skippedFrames);
    return { players, hlsStreams };
  }

  private cpuPercent(): number {
    const now = performance.now();
    const elapsed = now - this.cpu.at;
    if (elapsed >= CPU_WINDOW_MS) {
      const usage = process.cpuUsage();
      const busyUs = usage.user - this.cpu.usage.user + (usage.system - this.cpu.usage.system);
      this.cpu = { at: now, usage, percent: Math.round((busyUs / 1000 / elapsed) * 10000) / 100 };
    }
    return this.cpu.percent;
  }
}

/** SRS_BUILD_DATE's stand-in: the day this module was built (its file's mtime). */
function buildDate(): string {
  try {
    return fs.statSync(fileURLToPath(import.meta.url)).mtime.toISOString().slice(0, 10);
  } catch {
    return "";
  }
}
