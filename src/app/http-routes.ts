/**
 * The stream routes of the HTTP server, in the order a request tries them:
 *
 *   1. HLS: a playlist or segment the segmenter registered (HlsStore), from memory or from
 *      its hls_path;
 *   2. HTTP-FLV: a URL that an `http_remux` mount names, for a stream being published
 *      (otherwise the URL falls through to the static files, as SRS);
 *   3. the pages of www/: /players/ (the player page, with its scripts hls.js and mpegts.js
 *      from the installed packages, no CDN) and /console/ (the web console);
 *   4. static files of http_server's dir (HttpServer's own fallback).
 *
 * WebSocket-FLV answers an upgrade on any path an `http_remux` mount names.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import type { HttpRequest, HttpResponse, WebSocket } from "@trufflesuite/uws-js-unofficial";
import { nextClientId } from "../core/ids.js";
import { log } from "../core/logger.js";
import { flvHeader } from "../format/flv.js";
import { writeCors } from "../http/cors.js";
import type { HttpServer } from "../http/http-server.js";
import { serveBuffer, serveStatic } from "../http/static-files.js";
import { packageRoot } from "../native/index.js";
import { HttpFlvPlayer, type FlvSink } from "../outputs/http-flv/http-flv-player.js";
import type { Source } from "../stream/source.js";
import { checkAccess } from "./access.js";
import { isEdgeVhost } from "./edge-service.js";
import { matchFlvMount, type FlvMountMatch } from "./flv-mount.js";
import { bothDecisions, type HookDecision } from "./http-hooks.js";
import type { RtmpServer } from "./rtmp-server.js";
import type { HookClient } from "./stream-hooks.js";
import { sourcePlayConfig } from "./rtmp-connection.js";

/** Bytes an HTTP-FLV/WS-FLV peer may hold unsent before we stop writing to it. */
const SOCKET_BYTES = 2 * 1024 * 1024;
/** Bytes a player's own queue may hold, whatever `queue_length` says. */
const QUEUE_BYTES = 16 * 1024 * 1024;

/** What the routes know of each HTTP-FLV and WS-FLV player, for stats and the API. */
export interface FlvClient {
  readonly id: number;
  readonly kind: "http-flv" | "ws-flv";
  readonly ip: string;
  readonly source: Source;
  readonly player: HttpFlvPlayer;
  readonly startedAt: number;
  /** The request: path (the stream's URL), query string with its "?", Referer. */
  readonly url: string;
  readonly param: string;
  readonly pageUrl: string;
  readonly match: FlvMountMatch;
  /** Closes the player's connection (API kick). */
  close(): void;
}

const require = createRequire(import.meta.url);

/** The directories of www/ served at /NAME/: the player page and the web console. */
const WWW_PAGES: ReadonlySet<string> = new Set(["players", "console"]);

/** What a player's request said, for the API and hooks. */
interface RequestInfo {
  ip: string;
  url: string;
  /** The query string with its "?", or "" (SRS's `param`). */
  param: string;
  pageUrl: string;
}

function queryOf(req: HttpRequest): string {
  const q = req.getQuery();
  return q ? `?${q}` : "";
}

/** /players/vendor/NAME -> the file in node_modules. */
function vendorFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const add = (name: string, pkg: string, rel: string): void => {
    try {
      files.set(name, path.join(path.dirname(require.resolve(`${pkg}/package.json`)), rel));
    } catch {
      log.warn(0, `http: ${pkg} is not installed; /players/vendor/${name} will answer 404`);
    }
  };
  add("hls.min.js", "hls.js", "dist/hls.min.js");
  add("hls.min.js.map", "hls.js", "dist/hls.min.js.map");
  add("mpegts.js", "mpegts.js", "dist/mpegts.js");
  add("mpegts.js.map", "mpegts.js", "dist/mpegts.js.map");
  return files;
}

export class StreamRoutes {
  readonly clients = new Set<FlvClient>();
  /** Bytes sent to players that have left, and players ever attached. */
  closedBytes = 0;
  clientsTotal = 0;
  private lastRefusedLog = 0;
  private readonly www = path.join(packageRoot(), "www");
  private readonly vendor = vendorFiles();

  constructor(private readonly server: RtmpServer) {}

  /** Mounts every route on a new HttpServer (HttpService calls it for each one it makes). */
  mount(http: HttpServer): void {
    http.use((res, req) => this.serveHls(http, res, req));
    http.use((res, req) => this.serveHttpFlv(http, res, req));
    http.use((res, req) => this.servePages(http, res, req));
    this.mountWebSocket(http);
  }

  /** Closes every HTTP-FLV and WS-FLV player (shutdown). */
  closeAll(): void {
    for (const c of [...this.clients]) this.detach(c);
  }

  private serveHls(http: HttpServer, res: HttpResponse, req: HttpRequest): boolean {
    const url = req.getUrl();
    const entry = this.server.hls.store.get(url);
    if (!entry) return false;
    if (entry.kind === "memory") serveBuffer(res, req, http.current, entry.data, url, entry.modified);
    else serveStatic(res, req, { ...http.current, dir: entry.root }, url);
    return true;
  }

  /**
   * The pages of www/ (WWW_PAGES): /NAME/... from www/NAME/, /NAME redirected to /NAME/
   * (query kept), and /players/vendor/* from node_modules.
   */
  private servePages(http: HttpServer, res: HttpResponse, req: HttpRequest): boolean {
    const url = req.getUrl();
    const name = url.split("/", 2)[1]!;
    if (!WWW_PAGES.has(name)) return false;
    if (url.length === name.length + 1) {
      const location = `/${name}/${queryOf(req)}`;
      res.cork(() => res.writeStatus("301 Moved Permanently").writeHeader("Location", location).end());
      return true;
    }
    if (name === "players" && url.startsWith("/players/vendor/")) {
      const file = this.vendor.get(url.slice("/players/vendor/".length));
      if (file === undefined) return false;
      serveStatic(res, req, { ...http.current, dir: path.dirname(file) }, `/${path.basename(file)}`);
      return true;
    }
    serveStatic(res, req, { ...http.current, dir: this.www });
    return true;
  }

  /**
   * Whether the stream a mount names can be played now: it is published here, or the vhost
   * is an edge (the first player makes it pull the stream from the origin, as an RTMP
   * player does).
   */
  private playable(match: FlvMountMatch): boolean {
    return isEdgeVhost(match.vhost) || (this.server.registry.get(match.vhost.name, match.app, match.stream)?.publisher ?? null) !== null;
  }

  /** The stream a request names and may play, or the status to answer (null: not ours). */
  private resolve(req: HttpRequest, ip: string): { match: FlvMountMatch; key: string } | string | null {
    const url = req.getUrl();
    if (!url.endsWith(".flv")) return null;
    const match = matchFlvMount(this.server.currentConfig, req.getHeader("host"), url);
    if (!match) return null;
    const { vhost, app, stream } = match;
    const refused = checkAccess(vhost, "play", ip, req.getHeader("referer"));
    if (refused) {
      log.warn(0, `http-flv ${ip} play ${vhost.name}/${app}/${stream} refused: ${refused}`);
      return "403 Forbidden";
    }
    const key = `${vhost.name}/${app}/${stream}`;
    // As SRS, a stream is mounted while it is published (or on an edge); otherwise the URL
    // is an ordinary path, and a static .flv file there is served (or 404).
    if (!this.playable(match)) return null;
    // max_connections counts HTTP-FLV and WS-FLV players with RTMP connections, as SRS.
    const max = this.server.currentConfig.maxConnections;
    if (this.server.connectionCount + this.clients.size >= max) {
      const now = Date.now();
      if (now - this.lastRefusedLog >= 1000) {
        this.lastRefusedLog = now;
        log.warn(0, `http-flv ${ip} play ${key} refused: max_connections ${max} reached`);
      }
      return "503 Service Unavailable";
    }
    return { match, key };
  }

  private serveHttpFlv(http: HttpServer, res: HttpResponse, req: HttpRequest): boolean {
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const r = this.resolve(req, ip);
    if (r === null) return false;
    const opts = http.current;
    if (typeof r === "string") {
      res.cork(() => {
        res.writeStatus(r);
        writeCors(res, opts);
        res.writeHeader("Content-Type", "text/plain; charset=utf-8").end(`${r.slice(4).toLowerCase()}\n`);
      });
      return true;
    }
    const method = req.getMethod();
    const { vhost } = r.match;
    const header = flvHeader(vhost.httpRemux.hasAudio, vhost.httpRemux.hasVideo);
    if (method === "head") {
      res.cork(() => {
        res.writeStatus("200 OK");
        writeCors(res, opts);
        res.writeHeader("Content-Type", "video/x-flv").writeHeader("Cache-Control", "no-cache").endWithoutBody();
      });
      return true;
    }
    const info: RequestInfo = { ip, url: req.getUrl(), param: queryOf(req), pageUrl: req.getHeader("referer") };
    const id = nextClientId();
    let client: FlvClient | undefined;
    const sink = new HttpFlvSink(res);
    res.onAborted(() => {
      sink.aborted = true;
      if (client) this.detach(client);
    });
    const start = (): void => {
      res.cork(() => {
        res.writeStatus("200 OK");
        writeCors(res, opts);
        res.writeHeader("Content-Type", "video/x-flv");
        res.writeHeader("Cache-Control", "no-cache");
        res.write(header);
      });
      client = this.attach(id, "http-flv", info, sink, r.match, () => {
        if (!sink.aborted) res.close();
      });
    };
    const pending = this.decide(id, info, r.match);
    if (!pending) {
      start();
      return true;
    }
    void pending.then((d) => {
      if (sink.aborted) return;
      if (!d.allowed) {
        log.warn(id, `http-flv ${ip} play ${r.key} refused by ${d.by ?? "hook"}: ${d.reason}`);
        res.cork(() => {
          res.writeStatus("403 Forbidden");
          writeCors(res, opts);
          res.writeHeader("Content-Type", "text/plain; charset=utf-8").end(d.by ? `denied by the ${d.by}\n` : "denied by the on_play hook\n");
        });
        sink.aborted = true;
        return;
      }
      // The stream may have ended while the hook decided.
      if (!this.playable(r.match)) {
        res.cork(() => res.writeStatus("404 Not Found").end("not found\n"));
        sink.aborted = true;
        return;
      }
      start();
    });
    return true;
  }

  /** The on_play hook's and token_traverse's decision on a player, or null when nothing decides. */
  private decide(id: number, info: RequestInfo, match: FlvMountMatch): Promise<HookDecision> | null {
    const client = this.hookClient(id, info, match);
    const stream = { stream: match.stream, param: info.param };
    return bothDecisions(this.server.hooks.play(client, stream), this.server.admit(match.vhost, { kind: "play", client, stream }));
  }

  private hookClient(id: number, info: RequestInfo, match: FlvMountMatch): HookClient {
    return { id, ip: info.ip, vhost: match.vhost, app: match.app, tcUrl: `rtmp://${match.vhost.name}/${match.app}`, pageUrl: info.pageUrl };
  }

  private mountWebSocket(http: HttpServer): void {
    interface WsData {
      id: number;
      info: RequestInfo;
      match: FlvMountMatch;
      client?: FlvClient;
      sink?: WsFlvSink;
    }
    http.app.ws<WsData>("/*", {
      compression: 0,
      maxPayloadLength: 16 * 1024,
      // Above SOCKET_BYTES the player stops writing; this only guards against a bug there.
      maxBackpressure: SOCKET_BYTES * 4,
      closeOnBackpressureLimit: 1, // a flag, though typed as a number
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
        const r = this.resolve(req, ip);
        if (r === null || typeof r === "string") {
          const status = r ?? "404 Not Found";
          res.cork(() => res.writeStatus(status).end(`${status.slice(4).toLowerCase()}\n`));
          return;
        }
        const key = req.getHeader("sec-websocket-key");
        const protocol = req.getHeader("sec-websocket-protocol");
        const extensions = req.getHeader("sec-websocket-extensions");
        const info: RequestInfo = { ip, url: req.getUrl(), param: queryOf(req), pageUrl: req.getHeader("referer") };
        const id = nextClientId();
        const upgrade = (): void => {
          res.cork(() => res.upgrade<WsData>({ id, info, match: r.match }, key, protocol, extensions, context));
        };
        const pending = this.decide(id, info, r.match);
        if (!pending) {
          upgrade();
          return;
        }
        let aborted = false;
        res.onAborted(() => (aborted = true));
        void pending.then((d) => {
          if (aborted) return;
          if (d.allowed) {
            upgrade();
            return;
          }
          log.warn(id, `ws-flv ${ip} play ${r.key} refused by ${d.by ?? "hook"}: ${d.reason}`);
          res.cork(() => res.writeStatus("403 Forbidden").end(d.by ? `denied by the ${d.by}\n` : "denied by the on_play hook\n"));
        });
      },
      open: (ws: WebSocket<WsData>) => {
        const data = ws.getUserData();
        if (!this.playable(data.match)) {
          ws.end(1000, "stream not published");
          return;
        }
        const sink = new WsFlvSink(ws);
        data.sink = sink;
        const vhost = data.match.vhost;
        ws.send(flvHeader(vhost.httpRemux.hasAudio, vhost.httpRemux.hasVideo), true);
        data.client = this.attach(data.id, "ws-flv", data.info, sink, data.match, () => {
          if (!sink.closed) ws.end(1000, "kicked");
        });
      },
      message: () => {
        // A WS-FLV player has nothing to say; what it sends is ignored.
      },
      close: (ws: WebSocket<WsData>) => {
        const data = ws.getUserData();
        if (data.sink) data.sink.closed = true;
        if (data.client) this.detach(data.client);
      },
    });
  }

  private attach(
    id: number,
    kind: FlvClient["kind"],
    info: RequestInfo,
    sink: FlvSink,
    match: FlvMountMatch,
    close: () => void,
  ): FlvClient {
    const { vhost } = match;
    const ip = info.ip;
    // Keep the source alive while this player is on it, exactly as an RTMP player does.
    const s = this.server.registry.acquire(vhost.name, match.app, match.stream, sourcePlayConfig(vhost));
    const player = new HttpFlvPlayer(sink, { queueMs: vhost.play.queueLength * 1000, queueBytes: QUEUE_BYTES }, s.gopCacheSize > 0);
    const client: FlvClient = { id, kind, ...info, match, source: s, player, startedAt: Date.now(), close };
    if (s.tcUrl === "") s.tcUrl = `rtmp://${vhost.name}/${s.app}`;
    this.clients.add(client);
    this.clientsTotal++;
    log.trace(client.id, `${kind} ${ip} play ${s.key}`);
    s.addConsumer(player);
    this.server.playStarted(s, vhost, {
      client: this.hookClient(id, info, match),
      stream: { stream: match.stream, param: info.param },
      close: (reason) => {
        log.warn(client.id, `${kind} ${ip} play ${s.key} closed: ${reason}`);
        close();
      },
    });
    return client;
  }

  private detach(client: FlvClient): void {
    if (!this.clients.delete(client)) return;
    this.closedBytes += client.player.bytesOut;
    client.source.removeConsumer(client.player);
    this.server.hooks.stop(this.hookClient(client.id, client, client.match), { stream: client.match.stream, param: client.param });
    this.server.playStopped(client.source, client.match.vhost.name);
    this.server.registry.release(client.source);
    const secs = ((Date.now() - client.startedAt) / 1000).toFixed(1);
    log.trace(client.id, `${client.kind} ${client.ip} stopped ${client.source.key} after ${secs}s, out ${client.player.bytesOut} B, ${client.player.drops} drops`);
  }
}

/**
 * An HTTP-FLV response as a sink: uWS copies what it cannot send into the response's own
 * buffer and write() returns false; from then the sink is blocked until uWS says the
 * socket is writable again, so at most one flush more than the socket took is held.
 */
class HttpFlvSink implements FlvSink {
  aborted = false;
  private backpressured = false;

  constructor(private readonly res: HttpResponse) {}

  get blocked(): boolean {
    return this.aborted || this.backpressured;
  }

  write(data: Buffer): void {
    const res = this.res;
    let ok = true;
    res.cork(() => {
      ok = res.write(data);
    });
    if (!ok) {
      this.backpressured = true;
      res.onWritable(this.onWritable);
    }
  }

  private readonly onWritable = (): boolean => {
    this.backpressured = false;
    return true;
  };
}

/** A WebSocket-FLV connection as a sink: one binary message per flush (mpegts.js reads a byte stream). */
class WsFlvSink implements FlvSink {
  closed = false;

  constructor(private readonly ws: WebSocket<unknown>) {}

  get blocked(): boolean {
    return this.closed || this.ws.getBufferedAmount() > SOCKET_BYTES;
  }

  write(data: Buffer): void {
    this.ws.send(data, true, false);
  }
}
