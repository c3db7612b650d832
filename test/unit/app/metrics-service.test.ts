import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ExporterService, metricsHandler } from "../../../src/app/metrics-http.js";
import type { ExporterConfig } from "../../../src/conf/config.js";
import { HookMetrics } from "../../../src/core/metrics.js";
import { HttpServer } from "../../../src/http/http-server.js";
import { canConnect, freePort } from "../../support/ports.js";
import { parseExposition, valueOf } from "./metrics-exposition.js";

function registryWithOneMetric(): Registry {
  const registry = new Registry();
  new HookMetrics(registry).observe("on_play", 0.01, "allow");
  return registry;
}

function exporterConfig(ports: number[], enabled = true): ExporterConfig {
  return { enabled, listen: ports.map((port) => ({ host: "127.0.0.1", port })), label: "", tag: "" };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe("ExporterService", () => {
  it("serves /metrics in Prometheus text format and 404 elsewhere", async () => {
    const port = await freePort();
    const exporter = new ExporterService({ registry: registryWithOneMetric() });
    stops.push(() => exporter.stop());
    await exporter.start(exporterConfig([port]));
    const r = await fetch(`http://127.0.0.1:${port}/metrics?x=1`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const m = parseExposition(await r.text());
    expect(valueOf(m, "sluice_hook_duration_seconds_count", { event: "on_play" })).toBe(1);
    const other = await fetch(`http://127.0.0.1:${port}/api/v1/versions`);
    expect(other.status).toBe(404);
    expect(await other.text()).toBe("Not Found");
  });

  it("does not listen when disabled, and follows reloads: enable, move, disable", async () => {
    const [a, b] = [await freePort(), await freePort()];
    const exporter = new ExporterService({ registry: registryWithOneMetric() });
    stops.push(() => exporter.stop());
    await exporter.start(exporterConfig([a], false));
    expect(exporter.http).toBeUndefined();
    expect(await canConnect(a)).toBe(false);

    await exporter.reload(exporterConfig([a]));
    expect((await fetch(`http://127.0.0.1:${a}/metrics`)).status).toBe(200);

    await exporter.reload(exporterConfig([b]));
    expect(exporter.http?.addresses()).toEqual([{ host: "127.0.0.1", port: b }]);
    expect((await fetch(`http://127.0.0.1:${b}/metrics`)).status).toBe(200);

    await exporter.reload(exporterConfig([b], false));
    expect(exporter.http).toBeUndefined();
    expect(await canConnect(b)).toBe(false);
  });

  it("mounts extra routes before its 404", async () => {
    const port = await freePort();
    const exporter = new ExporterService({
      registry: registryWithOneMetric(),
      mount: (s) =>
        s.use((res, req) => {
          if (req.getUrl() !== "/api/v1/versions") return false;
          res.cork(() => res.end('{"code":0}'));
          return true;
        }),
    });
    stops.push(() => exporter.stop());
    await exporter.start(exporterConfig([port]));
    expect(await (await fetch(`http://127.0.0.1:${port}/api/v1/versions`)).text()).toBe('{"code":0}');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });
});

describe("metricsHandler", () => {
  it('answers {"code":1090} with HTTP 200 while the exporter is disabled, as SRS', async () => {
    let enabled = false;
    const http = new HttpServer({ dir: "/nonexistent", crossdomain: false });
    http.use(metricsHandler({ enabled: () => enabled, registry: registryWithOneMetric() }));
    stops.push(() => http.close());
    const port = await http.listen("127.0.0.1", 0);
    const off = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(off.status).toBe(200);
    expect(off.headers.get("content-type")).toBe("application/json");
    expect(await off.text()).toBe('{"code":1090}');
    enabled = true;
    const on = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(on.headers.get("content-type")).toContain("text/plain");
    expect(valueOf(parseExposition(await on.text()), "sluice_hook_failures_total")).toBeUndefined();
    // Other paths go on down the chain (here: static files, 404).
    expect((await fetch(`http://127.0.0.1:${port}/metrics/x`)).status).toBe(404);
  });
});
