/**
 * `/metrics` over HTTP, and SRS's `exporter { }` port.
 *
 * `metricsHandler` answers /metrics (Prometheus text format) on any of our HTTP servers:
 * the exporter's port, and the API's, where it answers `{"code":1090}` while the exporter
 * is disabled, as SRS >= 5. ExporterService listens on `exporter.listen` when
 * `exporter.enabled`, serving /metrics and whatever `mount` adds (SRS serves its whole API
 * mux there), and follows reloads as http_server does (it is an HttpService).
 *
 * prom-client is not imported here (only its types): the registry comes from a function
 * that may load it, so a server whose exporter is off never loads prom-client (about
 * 12 MB of RSS).
 */
import type { Registry } from "prom-client";
import type { ExporterConfig } from "../conf/config.js";
import { log } from "../core/logger.js";
import type { ChainHandler, HttpResponse, HttpServer } from "../http/http-server.js";
import { HttpService } from "../http/http-service.js";

/** ERROR_EXPORTER_DISABLED: /metrics on the API port while the exporter is off (SRS >= 5). */
const ERROR_EXPORTER_DISABLED = 1090;

/** A registry, or how to get it (loading prom-client the first time). */
export type RegistrySource = Registry | (() => Registry | Promise<Registry>);

/** The server's own registry (core/metrics.ts), loaded on first use. */
const serverRegistry = async (): Promise<Registry> => (await import("../core/metrics.js")).metricsRegistry;

export interface MetricsHandlerOptions {
  /** Whether /metrics answers metrics; else `{"code":1090}` (SRS). Default: always. */
  enabled?: () => boolean;
  /** Default: the server's registry. */
  registry?: RegistrySource;
}

/**
 * A chain handler for `/metrics` (any method, as SRS's mux), for the exporter's port and
 * the API's. Returns false for every other path.
 */
export function metricsHandler(options: MetricsHandlerOptions = {}): ChainHandler {
  const source = options.registry ?? serverRegistry;
  const registry = typeof source === "function" ? source : () => source;
  const enabled = options.enabled ?? (() => true);
  return (res, req) => {
    if (req.getUrl() !== "/metrics") return false;
    if (!enabled()) {
      // SRS: srs_api_response_code, HTTP 200 with the code.
      res.cork(() => {
        res.writeStatus("200 OK").writeHeader("Content-Type", "application/json").end(`{"code":${ERROR_EXPORTER_DISABLED}}`);
      });
      return true;
    }
    serveMetrics(res, registry);
    return true;
  };
}

function serveMetrics(res: HttpResponse, registry: () => Registry | Promise<Registry>): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  let contentType = "";
  Promise.resolve()
    .then(registry)
    .then((r) => {
      contentType = r.contentType;
      return r.metrics();
    })
    .then(
      (text) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus("200 OK").writeHeader("Content-Type", contentType).end(text);
        });
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        log.warn(0, `metrics: ${reason}`);
        if (aborted) return;
        res.cork(() => {
          res.writeStatus("500 Internal Server Error").writeHeader("Content-Type", "text/plain; charset=utf-8").end(`metrics: ${reason}\n`);
        });
      },
    );
}

/** SRS's 404 (srs_go_http_error). */
const notFound: ChainHandler = (res) => {
  res.cork(() => {
    res.writeStatus("404 Not Found").writeHeader("Content-Type", "text/plain; charset=utf-8").end("Not Found");
  });
  return true;
};

export interface ExporterServiceOptions {
  registry?: RegistrySource;
  /** Called on each new HttpServer after /metrics, before the 404: e.g. the API's routes. */
  mount?: (server: HttpServer) => void;
}

/**
 * `exporter { }` over time: listens when enabled, follows reloads (enable, disable, listen
 * addresses added and removed; unchanged listen sockets kept), stops on shutdown. label
 * and tag are read at each scrape.
 */
export class ExporterService {
  private readonly service: HttpService;

  constructor(options: ExporterServiceOptions = {}) {
    this.service = new HttpService(
      (server) => {
        server.use(metricsHandler(options.registry ? { registry: options.registry } : {}));
        options.mount?.(server);
        server.use(notFound);
      },
      { name: "exporter", path: "/metrics" },
    );
  }

  get http(): HttpServer | undefined {
    return this.service.http;
  }

  /** Starts when enabled; throws ERR_SERVER_LISTEN when an address cannot be listened on. */
  start(config: ExporterConfig): Promise<void> {
    return this.service.start({ enabled: config.enabled, listen: config.listen });
  }

  /** Applies a reloaded block. Errors are logged: the rest of the server keeps running. */
  reload(config: ExporterConfig): Promise<void> {
    return this.service.reload({ enabled: config.enabled, listen: config.listen });
  }

  stop(): void {
    this.service.stop();
  }
}
