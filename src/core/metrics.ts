/**
 * The Prometheus registry that `/metrics` serves (prom-client), and the metrics that code
 * in any layer records into: hook latency and failures. What is read from the live server
 * at scrape time (SRS's `srs_*` metrics, streams, clients, queues) is collected in
 * app/metrics-service.ts; Node's process metrics (RSS, CPU, heap, GC, event-loop lag) are
 * prom-client's defaults, without a prefix, under their usual names
 * (`process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, ...), so that the
 * standard Node.js dashboards work. docs/metrics.md lists every metric.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/** The registry of the server's `/metrics`. */
export const metricsRegistry = new Registry();

const withProcessMetrics = new WeakSet<Registry>();

/**
 * Adds Node's process metrics to `registry` (once per registry): `process_*` (CPU
 * seconds, RSS, open fds, start time), `nodejs_*` (heap, GC, handles, event-loop lag from
 * perf_hooks' monitorEventLoopDelay, reset at each scrape).
 */
export function collectProcessMetrics(registry: Registry = metricsRegistry): void {
  if (withProcessMetrics.has(registry)) return;
  withProcessMetrics.add(registry);
  collectDefaultMetrics({ register: registry });
}

/**
 * How a hook call ended: "allow" (HTTP 200/201 with `0` or `{"code":0}`), "deny" (an
 * answer that refuses), "error" (no usable answer: connection refused, other HTTP status,
 * a body that is not SRS's), "timeout".
 */
export type HookOutcome = "allow" | "deny" | "error" | "timeout";

/** Up to SRS's 30 s hook timeout. */
const HOOK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The hook metrics of one registry; `hookMetrics` is the server's. */
export class HookMetrics {
  private readonly duration: Histogram<"event" | "outcome">;
  private readonly failures: Counter<"event" | "reason">;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: "sluice_hook_duration_seconds",
      help: "Duration of HTTP hook calls (on_connect, on_publish, ...), by event and outcome (allow, deny, error, timeout).",
      labelNames: ["event", "outcome"],
      buckets: HOOK_BUCKETS,
      registers: [registry],
    });
    this.failures = new Counter({
      name: "sluice_hook_failures_total",
      help: "HTTP hook calls that got no usable answer (error or timeout; a deny is an answer), by event and reason.",
      labelNames: ["event", "reason"],
      registers: [registry],
    });
  }

  /**
   * Records one call of hook `event` ("on_publish", ...; one URL, one call) that took
   * `seconds`. An "error" or "timeout" also counts a failure, with `reason` (e.g.
   * "http_status", "invalid_body", "connect"; default: the outcome).
   */
  observe(event: string, seconds: number, outcome: HookOutcome, reason?: string): void {
    this.duration.observe({ event, outcome }, seconds >= 0 ? seconds : 0);
    if (outcome === "error" || outcome === "timeout") this.failures.inc({ event, reason: reason ?? outcome });
  }
}

/** The server's hook metrics (the hooks call `hookMetrics.observe(...)`). */
export const hookMetrics = new HookMetrics(metricsRegistry);
