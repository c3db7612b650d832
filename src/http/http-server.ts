/**
 * The HTTP server: one uWebSockets.js App and its listen sockets. The app layer mounts
 * routes on it (HLS, HTTP-FLV, API) with get/any; the static files of `dir` answer whatever
 * no other route takes (uWS prefers static and parameter patterns over the '/*' wildcard).
 * OPTIONS is answered here for every path (CORS preflight when crossdomain is on).
 *
 * uWS rules for route handlers (see static-files.ts): read everything from `req` before
 * returning or awaiting, attach onAborted before async work, write inside res.cork, and
 * never touch `res` after it was aborted or ended.
 */
import uWS from "@trufflesuite/uws-js-unofficial";
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from "@trufflesuite/uws-js-unofficial";
import type { ListenAddress } from "../conf/config.js";
import { SluiceError } from "../core/errors.js";
import { answerOptions, type HttpOptions } from "./cors.js";
import { staticFileHandler } from "./static-files.js";

export type { HttpOptions } from "./cors.js";
export type { HttpRequest, HttpResponse } from "@trufflesuite/uws-js-unofficial";
export type RouteHandler = (res: HttpResponse, req: HttpRequest) => void;
/**
 * A handler in the chain tried before static files: answers and returns true, or returns
 * false without touching `res` (it may read `req`).
 */
export type ChainHandler = (res: HttpResponse, req: HttpRequest) => boolean;

/**
 * What the 20.30 binary has beyond its bundled typings: listen(host, port, options, cb),
 * LIBUS_LISTEN_EXCLUSIVE_PORT and App.close() (checked against the binary).
 */
interface UwsRuntime {
  LIBUS_LISTEN_EXCLUSIVE_PORT: number;
}
interface AppRuntime {
  listen(host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void): void;
  close(): void;
}
const runtime = uWS as unknown as UwsRuntime;

function key(a: ListenAddress): string {
  return `${a.host}|${a.port}`;
}

function notFound(res: HttpResponse): void {
  res.cork(() => {
    res.writeStatus("404 Not Found");
    res.writeHeader("Content-Type", "text/plain; charset=utf-8");
    res.end("Not Found");
  });
}

export class HttpServer {
  readonly app: TemplatedApp;
  private readonly sockets = new Map<string, us_listen_socket>();
  private options: HttpOptions;
  private closed = false;
  private readonly chain: ChainHandler[] = [];

  /**
   * @param features.static false for a server of routes only (the HTTP API's own port):
   *   no static files and no built-in OPTIONS answer (its chain handlers answer OPTIONS);
   *   what no handler takes gets 404. Default true.
   */
  constructor(options: HttpOptions, features: { static?: boolean } = {}) {
    this.options = { ...options };
    this.app = uWS.App();
    const serveFiles = features.static !== false;
    if (serveFiles) {
      this.app.options("/*", (res, req) => answerOptions(res, req.getHeader("access-control-request-headers"), this.options));
    }
    const fallback = serveFiles ? staticFileHandler(() => this.options) : notFound;
    const chain = this.chain;
    this.app.any("/*", (res, req) => {
      for (let i = 0; i < chain.length; i++) if (chain[i]!(res, req)) return;
      fallback(res, req);
    });
  }

  /**
   * Adds a handler tried, in the order added, before the static files for every path:
   * where a route depends on state (HLS files, HTTP-FLV mounts) rather than on a pattern.
   */
  use(handler: ChainHandler): this {
    this.chain.push(handler);
    return this;
  }

  /** The options now in force (dir, crossdomain), for mounted routes that add CORS. */
  get current(): Readonly<HttpOptions> {
    return this.options;
  }

  /** New dir/crossdomain for the requests from now on (reload). */
  configure(options: HttpOptions): void {
    this.options = { ...options };
  }

  /** Mounts a GET route (e.g. HLS or HTTP-FLV); it takes precedence over static files. */
  get(pattern: string, handler: RouteHandler): this {
    this.app.get(pattern, handler);
    return this;
  }

  /** Mounts a route for every method. */
  any(pattern: string, handler: RouteHandler): this {
    this.app.any(pattern, handler);
    return this;
  }

  /** Listens on host:port (port 0: any free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    if (this.closed) return Promise.reject(new SluiceError("ERR_SERVER_LISTEN", "http server is closed"));
    return new Promise<number>((resolve, reject) => {
      // EXCLUSIVE_PORT: no SO_REUSEPORT, so that a second server cannot share the port.
      (this.app as unknown as AppRuntime).listen(host, port, runtime.LIBUS_LISTEN_EXCLUSIVE_PORT, (socket: us_listen_socket | false) => {
        if (!socket) {
          reject(new SluiceError("ERR_SERVER_LISTEN", `cannot listen on http://${host}:${port}: address in use or not available`));
          return;
        }
        const actual = uWS.us_socket_local_port(socket);
        this.sockets.set(key({ host, port: port === 0 ? actual : port }), socket);
        resolve(actual);
      });
    });
  }

  /** The addresses listened on now. */
  addresses(): ListenAddress[] {
    return [...this.sockets.keys()].map((k) => {
      const i = k.lastIndexOf("|");
      return { host: k.slice(0, i), port: Number(k.slice(i + 1)) };
    });
  }

  /** Stops listening on one address; its open connections stay. */
  unlisten(address: ListenAddress): boolean {
    const socket = this.sockets.get(key(address));
    if (!socket) return false;
    uWS.us_listen_socket_close(socket);
    this.sockets.delete(key(address));
    return true;
  }

  /** Stops listening and closes every connection (in-flight responses see onAborted). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // App.close() closes the listen sockets too (closing them first as well is harmless).
    this.sockets.clear();
    (this.app as unknown as AppRuntime).close();
  }
}
