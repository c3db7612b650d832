/**
 * SRS's HTTP API (`http_api { }`) on its own uWS port: the same URLs, JSON and error codes
 * as SRS 6 (srs_app_http_api.cpp), so that SRS's console, scripts and monitoring work.
 * docs/api.md is the reference; it lists where we differ.
 *
 * Two parts: HttpApi answers one request as data (pure, unit-tested: routing, auth, CORS,
 * JSONP, paging, envelopes), and ApiService runs it on an HttpServer and follows reloads.
 * Every answer is synchronous: the statistics are in memory and /proc is sampled in the
 * background (system-stats.ts), so no handler awaits.
 */
import type { HttpApiConfig, HttpServerConfig, ListenAddress } from "../conf/config.js";
import { log } from "../core/logger.js";
import { checkBasicAuth } from "../http/basic-auth.js";
import { HttpServer, type ChainHandler } from "../http/http-server.js";
import { isJsonpCallback, jsonpBody, toJson } from "../http/json-response.js";
import { VERSION } from "../version.js";
import type { ClientStat, Statistics, StreamStat, VhostStat } from "./statistics.js";
import { SystemStats } from "./system-stats.js";

/** The error codes of the API (SRS's srs_kernel_error.hpp; we add none of our own). */
export const ApiCode = {
  SUCCESS: 0,
  /** raw: missing or unknown rpc (ERROR_SYSTEM_CONFIG_RAW). */
  RAW: 1060,
  /** raw: raw_api or allow_reload off (ERROR_SYSTEM_CONFIG_RAW_DISABLED). */
  RAW_DISABLED: 1061,
  /** Unknown vhost id (ERROR_RTMP_VHOST_NOT_FOUND). */
  VHOST_NOT_FOUND: 2014,
  /** Unknown stream id (ERROR_RTMP_STREAM_NOT_FOUND). */
  STREAM_NOT_FOUND: 2048,
  /** Unknown client id, GET or DELETE (ERROR_RTMP_CLIENT_NOT_FOUND). */
  CLIENT_NOT_FOUND: 2049,
  /** ".." in the URL (ERROR_HTTP_URL_NOT_CLEAN). */
  URL_NOT_CLEAN: 4002,
  /** A ?callback= name outside [A-Za-z0-9_.-] (ERROR_HTTP_JSONP). */
  JSONP: 4058,
} as const;

/** Keys whose numbers SRS writes as floats with two decimals (SrsJsonAny::number). */
const FLOAT_KEYS: ReadonlySet<string> = new Set([
  "alive", "fragment", "cpu_percent", "mem_percent", "disk_busy_percent", "mem_ram_percent", "mem_swap_percent",
  "uptime", "ilde_time", "load_1m", "load_5m", "load_15m", "percent", "percent_ram", "percent_swap",
]);

/** What the API reads of the statistics (Statistics in the server, a fake in tests). */
export type ApiStatistics = Pick<
  Statistics,
  "children" | "serverId" | "serviceId" | "vhosts" | "vhost" | "streams" | "stream" | "clients" | "client" | "kick"
>;

/** What the API reads of the machine (SystemStats in the server). */
export type ApiSystem = Pick<SystemStats, "summaries" | "rusages" | "selfProcStats" | "systemProcStats" | "meminfos">;

/** One request, as read from uWS before the handler returns. */
export interface ApiRequest {
  /** Lower case, as uWS gives it. */
  method: string;
  /** The path, as sent (not decoded). */
  url: string;
  /** The query string without "?", or "". */
  query: string;
  /** Header values, "" when absent. */
  authorization: string;
  origin: string;
  /** Access-Control-Request-Headers of a preflight. */
  requestHeaders: string;
}

/** One answer: written as is by the uWS adapter (Content-Length is uWS's). */
export interface ApiAnswer {
  status: string;
  headers: Array<[string, string]>;
  body: string;
  /** Close the connection after the answer (SRS drops it on 4002 and 4058). */
  close: boolean;
}

/** The routed part of a request. */
export type ApiRoute =
  | { kind: "root" | "api" | "v1" }
  | { kind: "versions" | "summaries" | "rusages" | "self_proc_stats" | "system_proc_stats" | "meminfos" | "raw" | "ffmpegs" }
  | { kind: "vhosts" | "streams" | "clients"; id: string };

const INFO_ROUTES = new Set(["versions", "summaries", "rusages", "self_proc_stats", "system_proc_stats", "meminfos", "raw", "ffmpegs"]);

/**
 * The route of a path, with SRS's mux semantics (srs_protocol_http_stack.cpp): "/x/"
 * patterns take their subtree and the longest wins, "/" takes everything; the rest of a
 * collection's path is the id, verbatim. Where SRS answers "/api/v1/streams" with a 302 to
 * "/api/v1/streams/", we answer it directly (docs/api.md).
 */
export function routeOf(path: string): ApiRoute {
  if (path === "/api" || path === "/api/v1" || /^\/api\/v1\/(vhosts|streams|clients)$/.test(path)) path += "/";
  const collection = /^\/api\/v1\/(vhosts|streams|clients)\/(.*)$/s.exec(path);
  if (collection) return { kind: collection[1] as "vhosts" | "streams" | "clients", id: collection[2]! };
  const info = /^\/api\/v1\/([a-z_]+)$/.exec(path);
  if (info && INFO_ROUTES.has(info[1]!)) return { kind: info[1] as "versions" };
  if (path.startsWith("/api/v1/")) return { kind: "v1" };
  if (path.startsWith("/api/")) return { kind: "api" };
  return { kind: "root" };
}

/** SRS's paging of streams and clients: `start` (default 0), `count` at least 10. */
export function page<T>(items: readonly T[], start: string | null, count: string | null): T[] {
  // atoi: leading digits, anything else 0.
  const from = Math.max(0, parseInt(start ?? "", 10) || 0);
  const n = Math.max(10, parseInt(count ?? "", 10) || 0);
  return items.slice(from, from + n);
}

/** A listen address as SRS's config string: "1985" for every interface, else "ip:port". */
function listenString(addresses: readonly ListenAddress[]): string {
  return addresses.map((a) => (a.host === "0.0.0.0" ? String(a.port) : `${a.host}:${a.port}`)).join(" ");
}

/** The index pages' "urls" (SRS's wording; only the routes we serve). */
const ROOT_URLS = { api: "the api root" };
const API_URLS = { v1: "the api version 1.0" };
const V1_URLS = {
  versions: "the version of SRS",
  summaries: "the summary(pid, argv, pwd, cpu, mem) of SRS",
  rusages: "the rusage of SRS",
  self_proc_stats: "the self process stats",
  system_proc_stats: "the system process stats",
  meminfos: "the meminfo of system",
  vhosts: "manage all vhosts or specified vhost",
  streams: "manage all streams or specified stream",
  clients: "manage all clients or specified client, default query top 10 clients",
  raw: "raw api for srs, support CUID srs for instance the config",
};

interface Reply {
  status: string;
  /** A JSON body, or text with its type. */
  json?: Record<string, unknown>;
  text?: { type: string; body: string };
  headers?: Array<[string, string]>;
  close?: boolean;
}

const METHOD_NOT_ALLOWED: Reply = {
  status: "405 Method Not Allowed",
  text: { type: "text/plain; charset=utf-8", body: "Method Not Allowed" },
};

export class HttpApi {
  /**
   * @param config the http_api block now in force (changes on reload).
   * @param reload starts a reload of the config file, as SIGHUP (raw API).
   */
  constructor(
    private readonly stats: ApiStatistics,
    private readonly system: ApiSystem,
    private readonly config: () => HttpApiConfig,
    private readonly reload: () => void,
  ) {}

  /** The uWS handler: answers every request (the API port has no other routes). */
  handler(): ChainHandler {
    return (res, req) => {
      const request: ApiRequest = {
        method: req.getMethod().toLowerCase(),
        url: req.getUrl(),
        query: req.getQuery() ?? "",
        authorization: req.getHeader("authorization"),
        origin: req.getHeader("origin"),
        requestHeaders: req.getHeader("access-control-request-headers"),
      };
      let answer: ApiAnswer;
      try {
        answer = this.answer(request);
      } catch (err) {
        log.error(0, `api: ${request.method} ${request.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        const headers: Array<[string, string]> = [["Content-Type", "text/plain; charset=utf-8"]];
        answer = { status: "500 Internal Server Error", headers, body: "Internal Server Error", close: false };
      }
      res.cork(() => {
        res.writeStatus(answer.status);
        for (const [k, v] of answer.headers) res.writeHeader(k, v);
        res.end(answer.body, answer.close);
      });
      return true;
    };
  }

  /** Answers one request: URL check, CORS preflight, auth, JSONP check, then the route. */
  answer(req: ApiRequest): ApiAnswer {
    const cfg = this.config();
    const query = new URLSearchParams(req.query);
    const headers: Array<[string, string]> = [["Server", `Sluice/${VERSION}`]];
    // CORS (spec 1.21): SRS >= 5 reads http_server.crossdomain; we read http_api's, as SRS 3/4.
    if (cfg.crossdomain && (req.origin !== "" || req.method === "options")) {
      headers.push(
        ["Access-Control-Allow-Origin", "*"],
        // "*" does not cover Authorization (Fetch standard): echo what a preflight asks for.
        ["Access-Control-Allow-Headers", req.requestHeaders !== "" ? req.requestHeaders : "*"],
        ["Access-Control-Allow-Methods", "*"],
        ["Access-Control-Expose-Headers", "*"],
        ["Access-Control-Allow-Credentials", "false"],
        ["Access-Control-Request-Private-Network", "true"],
      );
    }
    // Set once the ?callback= name is checked: a JSONP answer.
    let jsonp: string | null = null;
    const finish = (r: Reply): ApiAnswer => {
      const out: Array<[string, string]> = [...headers, ...(r.headers ?? [])];
      let body = "";
      if (r.json) {
        const json = toJson(r.json, FLOAT_KEYS);
        if (jsonp) {
          out.push(["Content-Type", "text/javascript"]);
          body = jsonpBody(jsonp, json);
        } else {
          out.push(["Content-Type", "application/json"]);
          body = json;
        }
      } else if (r.text) {
        out.push(["Content-Type", r.text.type]);
        body = r.text.body;
      }
      return { status: r.status, headers: out, body, close: r.close ?? false };
    };

    // SRS refuses any ".." (srs_http_path_clean); we say why before closing.
    let decoded = req.url;
    try {
      decoded = decodeURIComponent(req.url);
    } catch {
      // keep the raw path
    }
    if (req.url.includes("..") || decoded.includes("..")) {
      return finish({ status: "400 Bad Request", json: { code: ApiCode.URL_NOT_CLEAN }, close: true });
    }
    if (req.method === "options") {
      if (!cfg.crossdomain) return finish(METHOD_NOT_ALLOWED);
      return finish({ status: "200 OK" });
    }
    // Basic auth on what contains /api/, after the preflight (spec 1.20).
    if (cfg.auth.enabled && req.url.includes("/api/")) {
      const result = checkBasicAuth(req.authorization, cfg.auth.username, cfg.auth.password);
      if (result !== "ok") return finish({ status: "401 Unauthorized", headers: [["WWW-Authenticate", "Basic"]] });
    }
    const callback = query.get("callback");
    if (callback !== null && callback !== "" && !isJsonpCallback(callback)) {
      return finish({ status: "400 Bad Request", json: { code: ApiCode.JSONP }, close: true });
    }
    jsonp = callback || null;
    // ?method= overrides the method, for JSONP (which can only GET).
    const override = query.get("method")?.toLowerCase();
    const method = override && ["get", "put", "post", "delete"].includes(override) ? override : req.method;
    return finish(this.route(routeOf(req.url), method, query, cfg));
  }

  private envelope(rest: Record<string, unknown> = {}): Record<string, unknown> {
    return { code: ApiCode.SUCCESS, server: this.stats.serverId, service: this.stats.serviceId, pid: String(process.pid), ...rest };
  }

  private ok(rest: Record<string, unknown> = {}): Reply {
    return { status: "200 OK", json: this.envelope(rest) };
  }

  /** API errors are HTTP 200 with only the code (spec 0). */
  private error(code: number): Reply {
    return { status: "200 OK", json: { code } };
  }

  private route(route: ApiRoute, method: string, query: URLSearchParams, cfg: HttpApiConfig): Reply {
    switch (route.kind) {
      case "root":
        return this.ok({ urls: ROOT_URLS });
      case "api":
        return this.ok({ urls: API_URLS });
      case "v1":
        return this.ok({ urls: V1_URLS });
      case "versions": {
        const [major = 0, minor = 0, revision = 0] = VERSION.split(/[.-]/).map((n) => parseInt(n, 10) || 0);
        return this.ok({ data: { major, minor, revision, version: VERSION } });
      }
      case "summaries":
        return this.ok({ data: this.system.summaries() });
      // Sluice's own: the supervised ffmpeg children (ingest, transcode).
      case "ffmpegs":
        return this.ok({ ffmpegs: this.stats.children() });
      case "rusages":
        return this.ok({ data: this.system.rusages() });
      case "self_proc_stats":
        return this.ok({ data: this.system.selfProcStats() });
      case "system_proc_stats":
        return this.ok({ data: this.system.systemProcStats() });
      case "meminfos":
        return this.ok({ data: this.system.meminfos() });
      case "raw":
        return this.raw(query.get("rpc") ?? "", cfg);
      case "vhosts": {
        if (method !== "get") return METHOD_NOT_ALLOWED;
        // Not paged, as SRS.
        if (route.id === "") return this.ok({ vhosts: this.stats.vhosts() });
        return this.item<VhostStat>("vhost", this.stats.vhost(route.id), ApiCode.VHOST_NOT_FOUND);
      }
      case "streams": {
        if (method !== "get") return METHOD_NOT_ALLOWED;
        if (route.id === "") return this.ok({ streams: page(this.stats.streams(), query.get("start"), query.get("count")) });
        return this.item<StreamStat>("stream", this.stats.stream(route.id), ApiCode.STREAM_NOT_FOUND);
      }
      case "clients": {
        if (method === "delete") return this.kick(route.id);
        if (method !== "get") return METHOD_NOT_ALLOWED;
        if (route.id === "") return this.ok({ clients: page(this.stats.clients(), query.get("start"), query.get("count")) });
        return this.item<ClientStat>("client", this.stats.client(route.id), ApiCode.CLIENT_NOT_FOUND);
      }
    }
  }

  /** One item under its key, or the not-found code. */
  private item<T>(key: string, item: T | undefined, notFound: number): Reply {
    return item ? this.ok({ [key]: item }) : this.error(notFound);
  }

  /** DELETE /api/v1/clients/:id: closes the client's connection (asynchronously, as SRS). */
  private kick(id: string): Reply {
    if (id === "" || this.stats.kick(id) === "not-found") return this.error(ApiCode.CLIENT_NOT_FOUND);
    log.trace(0, `api: kicked client ${id}`);
    return this.ok();
  }

  /** /api/v1/raw?rpc=raw|reload, in SRS's order of checks (spec 1.16). No envelope. */
  private raw(rpc: string, cfg: HttpApiConfig): Reply {
    if (rpc === "raw") {
      return {
        status: "200 OK",
        json: {
          code: ApiCode.SUCCESS,
          http_api: {
            enabled: cfg.enabled,
            listen: listenString(cfg.listen),
            crossdomain: cfg.crossdomain,
            raw_api: { enabled: cfg.rawApi.enabled, allow_reload: cfg.rawApi.allowReload, allow_query: false, allow_update: false },
          },
        },
      };
    }
    if (!cfg.rawApi.enabled) return this.error(ApiCode.RAW_DISABLED);
    if (rpc !== "reload") return this.error(ApiCode.RAW);
    if (!cfg.rawApi.allowReload) return this.error(ApiCode.RAW_DISABLED);
    log.trace(0, "api: raw reload");
    this.reload();
    return this.error(ApiCode.SUCCESS);
  }
}

function same(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/**
 * Whether the API shares http_server's port: SRS >= 5.0.47 merges them when the listens
 * are equal (#2881); we merge when http_server is on and listens on every API address.
 */
export function sharesHttpPort(api: HttpApiConfig, http: HttpServerConfig | undefined): boolean {
  return !!http?.enabled && api.listen.length > 0 && api.listen.every((a) => http.listen.some((b) => same(a, b)));
}

/**
 * `http_api { }` over time, as HttpService for http_server: started when enabled, new
 * settings (crossdomain, auth, raw_api) for the next request on reload, listen addresses
 * added and removed (unchanged sockets kept), stopped when disabled or on shutdown.
 * When its listen is http_server's, it has no socket of its own: the HTTP server passes it
 * the /api/ paths (see `mount`).
 */
export class ApiService {
  private server: HttpServer | undefined;
  private config: HttpApiConfig | undefined;
  /** Served by the HTTP server's port (sharesHttpPort). */
  private merged = false;
  private readonly api: HttpApi;
  private readonly handle: ChainHandler;
  private readonly system: SystemStats;

  /**
   * @param reload what `rpc=reload` does: the same reload as SIGHUP.
   * @param options.mount called on each HttpServer of the API's own port before the API's
   *   routes, to add routes that SRS serves there too (e.g. /metrics).
   */
  constructor(
    stats: Statistics,
    reload: () => void,
    private readonly options: { mount?: (server: HttpServer) => void } = {},
  ) {
    this.system = new SystemStats({
      totals: () => stats.totals(),
      clientCount: () => stats.clients().length,
      startedAt: stats.startedAt,
    });
    this.api = new HttpApi(stats, this.system, () => this.config!, reload);
    this.handle = this.api.handler();
  }

  /**
   * A chain handler for the API's paths ("/api" and "/api/..."), for another port that
   * serves them too (SRS serves its API mux on the exporter's port); false for other
   * paths, and for all while http_api is disabled.
   */
  readonly routes: ChainHandler = (res, req) => {
    if (!this.config) return false;
    const url = req.getUrl();
    if (url !== "/api" && !url.startsWith("/api/")) return false;
    return this.handle(res, req);
  };

  /**
   * Mounts the API's /api/ paths on an http_server HttpServer, answered while the API
   * shares its port (others are left to the HTTP server's routes and files).
   */
  mount(http: HttpServer): void {
    http.use((res, req) => this.merged && this.routes(res, req));
  }

  /** The ports listened on now (tests, logs). */
  addresses(): ListenAddress[] {
    return this.server?.addresses() ?? [];
  }

  /**
   * Starts when enabled; throws ERR_SERVER_LISTEN when an address cannot be listened on.
   * @param http the http_server block, to share its port when the listens are the same.
   */
  async start(config: HttpApiConfig, http?: HttpServerConfig): Promise<void> {
    if (!config.enabled) return;
    this.config = config;
    this.system.start();
    if (sharesHttpPort(config, http)) {
      this.merged = true;
      log.trace(0, `api shares the http server's port: ${listenString(config.listen)}`);
      return;
    }
    const server = new HttpServer({ dir: "", crossdomain: config.crossdomain }, { static: false });
    this.options.mount?.(server);
    server.use(this.handle);
    try {
      for (const a of config.listen) {
        const port = await server.listen(a.host, a.port);
        log.trace(0, `api listen at http://${a.host}:${port}`);
      }
    } catch (err) {
      server.close();
      throw err;
    }
    this.server = server;
  }

  /** Applies a reloaded block. Errors are logged: the rest of the server keeps running. */
  async reload(config: HttpApiConfig, http?: HttpServerConfig): Promise<void> {
    try {
      if (!config.enabled) {
        if (this.server || this.merged) log.trace(0, "reload: http_api disabled");
        this.stop();
        return;
      }
      if (sharesHttpPort(config, http) !== this.merged || (!this.merged && !this.server)) {
        // Enabled, or moved to or from the HTTP server's port: start afresh.
        this.stop();
        await this.start(config, http);
        return;
      }
      this.config = config;
      if (!this.server) return; // still on the HTTP server's port
      this.config = config;
      const server = this.server;
      server.configure({ dir: "", crossdomain: config.crossdomain });
      for (const a of server.addresses()) {
        if (!config.listen.some((b) => same(a, b))) {
          server.unlisten(a);
          log.trace(0, `reload: api stopped listening on ${a.host}:${a.port}`);
        }
      }
      for (const a of config.listen) {
        if (server.addresses().some((b) => same(a, b))) continue;
        const port = await server.listen(a.host, a.port);
        log.trace(0, `reload: api listen at http://${a.host}:${port}`);
      }
    } catch (err) {
      log.error(0, `reload: http_api: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  stop(): void {
    this.system.stop();
    this.config = undefined;
    this.merged = false;
    this.server?.close();
    this.server = undefined;
  }
}
