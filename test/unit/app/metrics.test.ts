import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { MetricsCollector, type MetricsSources, type PlayerProtocol, type QueueCounts } from "../../../src/app/metrics-service.js";
import type { ClientStat, StreamStat } from "../../../src/app/statistics.js";
import { HookMetrics } from "../../../src/core/metrics.js";
import type { HlsStreamStats } from "../../../src/outputs/hls/hls-stream.js";
import { parseExposition, valueOf } from "./metrics-exposition.js";

/** A server as the metrics see it, its fields changed by the tests. */
function fakeServer() {
  const state = {
    streams: [] as { publish: { active: boolean } }[],
    clients: [] as { type: ClientStat["type"] }[],
    sendBytes: 0,
    recvBytes: 0,
    clientsTotal: 0,
    clientErrors: 0,
    players: [] as { protocol: PlayerProtocol; player: QueueCounts }[],
    hls: [] as { stats: HlsStreamStats }[],
    label: "",
    tag: "",
  };
  const sources: MetricsSources = {
    stats: {
      serverId: "vid-abcdefg",
      serviceId: "12345678",
      streams: () => state.streams as StreamStat[],
      clients: () => state.clients as ClientStat[],
      totals: () => ({ sendBytes: state.sendBytes, recvBytes: state.recvBytes }),
      get clientsTotal() {
        return state.clientsTotal;
      },
      get clientErrors() {
        return state.clientErrors;
      },
    },
    players: () => state.players,
    hlsStreams: () => state.hls,
    exporter: () => ({ label: state.label, tag: state.tag }),
  };
  return { state, sources };
}

function player(queuedMessages: number, droppedMessages = 0, drops = 0) {
  return { queuedMessages, droppedMessages, drops };
}

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe("MetricsCollector", () => {
  it("writes valid exposition text with SRS's metrics under SRS's names and types", async () => {
    const registry = new Registry();
    const { sources } = fakeServer();
    new MetricsCollector(sources, registry);
    const m = await scrape(registry);
    const types: Record<string, string> = {
      srs_build_info: "gauge",
      srs_cpu_percent: "gauge",
      srs_memory: "gauge",
      srs_send_bytes_total: "counter",
      srs_receive_bytes_total: "counter",
      srs_streams: "gauge",
      srs_clients: "gauge",
      srs_clients_total: "counter",
      srs_clients_errs_total: "counter",
    };
    if (process.platform === "linux") types["srs_node_uname_info"] = "gauge";
    for (const [name, type] of Object.entries(types)) expect(m.get(name)?.type, name).toBe(type);
    // Node's process metrics: RSS and event-loop lag.
    expect(valueOf(m, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(m.get("nodejs_eventloop_lag_seconds")?.type).toBe("gauge");
    expect(m.get("nodejs_eventloop_lag_p99_seconds")?.type).toBe("gauge");
    expect(valueOf(m, "srs_memory")).toBeGreaterThan(1000);
    if (process.platform === "linux") expect(m.get("srs_node_uname_info")?.samples[0]?.labels["sysname"]).toBe("Linux");
  });

  it("labels srs_build_info as SRS, with label and tag only when set", async () => {
    const registry = new Registry();
    const { state, sources } = fakeServer();
    new MetricsCollector(sources, registry, { processMetrics: false });
    let labels = (await scrape(registry)).get("srs_build_info")!.samples[0]!.labels;
    expect(Object.keys(labels).sort()).toEqual(["build_date", "code", "major", "pid", "server", "service", "version"]);
    expect(labels).toMatchObject({ server: "vid-abcdefg", service: "12345678", pid: String(process.pid) });
    expect(labels["build_date"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    state.label = "cn-beijing";
    state.tag = 'edge "1"';
    const family = (await scrape(registry)).get("srs_build_info")!;
    expect(family.samples).toHaveLength(1);
    labels = family.samples[0]!.labels;
    expect(labels["label"]).toBe("cn-beijing");
    expect(labels["tag"]).toBe('edge "1"');
    expect(family.samples[0]!.value).toBe(1);
  });

  it("reports streams, clients by type and byte totals", async () => {
    const registry = new Registry();
    const { state, sources } = fakeServer();
    new MetricsCollector(sources, registry, { processMetrics: false });
    state.streams = [{ publish: { active: true } }, { publish: { active: false } }];
    state.clients = [{ type: "fmle-publish" }, { type: "rtmp-play" }, { type: "rtmp-play" }, { type: "flv-play" }];
    state.sendBytes = 5000;
    state.recvBytes = 100_000;
    state.clientsTotal = 9;
    state.clientErrors = 2;
    const m = await scrape(registry);
    expect(valueOf(m, "srs_streams")).toBe(2);
    expect(valueOf(m, "sluice_streams_publishing")).toBe(1);
    expect(valueOf(m, "srs_clients")).toBe(4);
    expect(valueOf(m, "sluice_clients", { type: "fmle-publish" })).toBe(1);
    expect(valueOf(m, "sluice_clients", { type: "rtmp-play" })).toBe(2);
    expect(valueOf(m, "sluice_clients", { type: "flv-play" })).toBe(1);
    expect(valueOf(m, "sluice_clients", { type: "Unknown" })).toBe(0);
    expect(valueOf(m, "srs_send_bytes_total")).toBe(5000);
    expect(valueOf(m, "srs_receive_bytes_total")).toBe(100_000);
    expect(valueOf(m, "srs_clients_total")).toBe(9);
    expect(valueOf(m, "srs_clients_errs_total")).toBe(2);
    state.sendBytes = 7000;
    expect(valueOf(await scrape(registry), "srs_send_bytes_total")).toBe(7000);
  });

  it("reports players and their queue depth by protocol", async () => {
    const registry = new Registry();
    const { state, sources } = fakeServer();
    new MetricsCollector(sources, registry, { processMetrics: false });
    state.players = [
      { protocol: "rtmp", player: player(3) },
      { protocol: "rtmp", player: player(10) },
      { protocol: "ws-flv", player: player(4) },
    ];
    const m = await scrape(registry);
    expect(valueOf(m, "sluice_players", { protocol: "rtmp" })).toBe(2);
    expect(valueOf(m, "sluice_players", { protocol: "ws-flv" })).toBe(1);
    expect(valueOf(m, "sluice_players", { protocol: "http-flv" })).toBe(0);
    expect(valueOf(m, "sluice_player_queue_messages", { protocol: "rtmp" })).toBe(13);
    expect(valueOf(m, "sluice_player_queue_messages_max", { protocol: "rtmp" })).toBe(10);
    expect(valueOf(m, "sluice_player_queue_messages_max", { protocol: "ws-flv" })).toBe(4);
  });

  it("keeps running totals of dropped frames and overflows across players that leave", async () => {
    const registry = new Registry();
    const { state, sources } = fakeServer();
    new MetricsCollector(sources, registry, { processMetrics: false });
    let m = await scrape(registry);
    // Every reason and protocol is there from the start, at 0.
    for (const reason of ["player_queue", "hls_mux_error", "hls_skipped"]) {
      expect(valueOf(m, "sluice_frames_dropped_total", { reason })).toBe(0);
    }
    expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "http-flv" })).toBe(0);

    const a = player(0, 5, 1);
    state.players = [{ protocol: "rtmp", player: a }];
    m = await scrape(registry);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "player_queue" })).toBe(5);
    expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "rtmp" })).toBe(1);

    a.droppedMessages = 8;
    a.drops = 2;
    m = await scrape(registry);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "player_queue" })).toBe(8);
    expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "rtmp" })).toBe(2);

    // a leaves; b arrives with its own counts: the total goes on.
    state.players = [{ protocol: "http-flv", player: player(0, 2, 1) }];
    m = await scrape(registry);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "player_queue" })).toBe(10);
    expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "rtmp" })).toBe(2);
    expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "http-flv" })).toBe(1);
  });

  it("samples the running totals between scrapes, so a player that leaves keeps what it counted", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const registry = new Registry();
      const { state, sources } = fakeServer();
      const collector = new MetricsCollector(sources, registry, { processMetrics: false });
      collector.start();
      state.players = [{ protocol: "rtmp", player: player(0, 5, 1) }];
      vi.advanceTimersByTime(5000);
      state.players = [];
      const m = await scrape(registry);
      expect(valueOf(m, "sluice_frames_dropped_total", { reason: "player_queue" })).toBe(5);
      expect(valueOf(m, "sluice_player_queue_overflows_total", { protocol: "rtmp" })).toBe(1);
      collector.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("counts HLS segments, bytes, mux errors and skipped frames as running totals", async () => {
    const registry = new Registry();
    const { state, sources } = fakeServer();
    new MetricsCollector(sources, registry, { processMetrics: false });
    const stats = { segments: 2, bytes: 1000, muxErrors: 1, skippedFrames: 7 };
    state.hls = [{ stats }];
    let m = await scrape(registry);
    expect(valueOf(m, "sluice_hls_streams")).toBe(1);
    expect(valueOf(m, "sluice_hls_segments_total")).toBe(2);
    expect(valueOf(m, "sluice_hls_bytes_total")).toBe(1000);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "hls_mux_error" })).toBe(1);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "hls_skipped" })).toBe(7);
    stats.segments = 3;
    stats.bytes = 1500;
    state.hls = [{ stats }, { stats: { segments: 1, bytes: 10, muxErrors: 0, skippedFrames: 0 } }];
    m = await scrape(registry);
    expect(valueOf(m, "sluice_hls_streams")).toBe(2);
    expect(valueOf(m, "sluice_hls_segments_total")).toBe(4);
    expect(valueOf(m, "sluice_hls_bytes_total")).toBe(1510);
    expect(valueOf(m, "sluice_frames_dropped_total", { reason: "hls_skipped" })).toBe(7);
  });

  it("reads the server once per scrape", async () => {
    const registry = new Registry();
    const { sources } = fakeServer();
    let reads = 0;
    const counted: MetricsSources = {
      ...sources,
      stats: {
        ...sources.stats,
        clients: () => {
          reads++;
          return [];
        },
      },
    };
    new MetricsCollector(counted, registry, { processMetrics: false });
    await registry.metrics();
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it("reports CPU as a percent of one core", async () => {
    const registry = new Registry();
    new MetricsCollector(fakeServer().sources, registry, { processMetrics: false });
    const end = Date.now() + 1100;
    while (Date.now() < end) {
      // Busy, so that the figure is well above 0.
    }
    const cpu = valueOf(await scrape(registry), "srs_cpu_percent")!;
    expect(cpu).toBeGreaterThan(10);
    expect(cpu).toBeLessThanOrEqual(400);
  });
});

describe("HookMetrics", () => {
  it("observes hook durations by event and outcome, and counts errors and timeouts as failures", async () => {
    const registry = new Registry();
    const hooks = new HookMetrics(registry);
    hooks.observe("on_publish", 0.02, "allow");
    hooks.observe("on_publish", 0.03, "deny");
    hooks.observe("on_play", 30, "timeout");
    hooks.observe("on_play", 0.001, "error", "http_status");
    hooks.observe("on_close", -1, "allow");
    const m = await scrape(registry);
    expect(m.get("sluice_hook_duration_seconds")?.type).toBe("histogram");
    expect(valueOf(m, "sluice_hook_duration_seconds_count", { event: "on_publish", outcome: "allow" })).toBe(1);
    expect(valueOf(m, "sluice_hook_duration_seconds_count", { event: "on_publish", outcome: "deny" })).toBe(1);
    expect(valueOf(m, "sluice_hook_duration_seconds_sum", { event: "on_publish", outcome: "allow" })).toBeCloseTo(0.02);
    expect(valueOf(m, "sluice_hook_duration_seconds_bucket", { event: "on_publish", outcome: "allow", le: "0.025" })).toBe(1);
    expect(valueOf(m, "sluice_hook_duration_seconds_bucket", { event: "on_publish", outcome: "allow", le: "0.01" })).toBe(0);
    expect(valueOf(m, "sluice_hook_duration_seconds_bucket", { event: "on_play", outcome: "timeout", le: "30" })).toBe(1);
    expect(valueOf(m, "sluice_hook_duration_seconds_sum", { event: "on_close", outcome: "allow" })).toBe(0);
    expect(valueOf(m, "sluice_hook_failures_total", { event: "on_play", reason: "timeout" })).toBe(1);
    expect(valueOf(m, "sluice_hook_failures_total", { event: "on_play", reason: "http_status" })).toBe(1);
    expect(valueOf(m, "sluice_hook_failures_total", { event: "on_publish" })).toBeUndefined();
  });
});
