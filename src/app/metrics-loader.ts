/**
 * Prometheus metrics on demand: prom-client (about 12 MB of RSS), the server's registry
 * and the MetricsCollector with its 5 s sampler are loaded the first time `exporter { }` is
 * enabled (at start or by a reload), not before. A server that never enables the exporter
 * never loads them; `/metrics` on the API port answers SRS's `{"code":1090}` meanwhile.
 *
 * Hook calls are recorded from then on (sluice_hook_*): before, nobody could scrape them.
 * Disabling the exporter by reload stops the sampler; the registry stays loaded.
 */
import type { Registry } from "prom-client";
import type { HookEvent, HookOutcome } from "./http-hooks.js";
import type { HookMetrics } from "../core/metrics.js";
import type { MetricsCollector, MetricsSources } from "./metrics-service.js";

interface Loaded {
  registry: Registry;
  hooks: HookMetrics;
  collector: MetricsCollector;
}

export class MetricsLoader {
  private loading: Promise<Loaded> | undefined;
  private loaded: Loaded | undefined;
  private running = false;

  /** @param sources what the collector reads, made once the module is loaded. */
  constructor(private readonly sources: (mod: typeof import("./metrics-service.js")) => MetricsSources) {}

  /** The hooks' observer: records a call once metrics are loaded. */
  readonly observeHook = (event: HookEvent, seconds: number, outcome: HookOutcome): void => {
    this.loaded?.hooks.observe(event, seconds, outcome);
  };

  /** Follows `exporter.enabled` (start and every reload): loads and samples while on. */
  async apply(enabled: boolean): Promise<void> {
    if (!enabled) {
      if (this.running) this.loaded?.collector.stop();
      this.running = false;
      return;
    }
    const m = await this.load();
    if (!this.running) m.collector.start();
    this.running = true;
  }

  /** The server's registry, loading it if needed (a scrape). */
  async registry(): Promise<Registry> {
    return (await this.load()).registry;
  }

  stop(): void {
    if (this.running) this.loaded?.collector.stop();
    this.running = false;
  }

  private load(): Promise<Loaded> {
    this.loading ??= Promise.all([import("../core/metrics.js"), import("./metrics-service.js")]).then(([core, service]) => {
      const collector = new service.MetricsCollector(this.sources(service), core.metricsRegistry);
      this.loaded = { registry: core.metricsRegistry, hooks: core.hookMetrics, collector };
      return this.loaded;
    });
    return this.loading;
  }
}
