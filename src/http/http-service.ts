/**
 * An HTTP server block over time (`http_server { }`, `exporter { }`): started when
 * enabled, reconfigured on reload (dir and crossdomain apply to the next request; listen
 * addresses added and removed; listen sockets kept when unchanged), stopped when disabled
 * or on shutdown.
 *
 * Listen sockets are kept across a reload on purpose: the uWS 20.30 binary sets no
 * SO_REUSEADDR, so a port whose server side closed connections (TIME_WAIT) cannot be
 * listened on again for up to a minute.
 */
import type { ListenAddress } from "../conf/config.js";
import { log } from "../core/logger.js";
import { HttpServer } from "./http-server.js";

function same(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/** What an HTTP server block says (http_server's; the exporter's with no dir). */
export interface HttpBlock {
  enabled: boolean;
  listen: readonly ListenAddress[];
  /** Static files' root ("" for none). */
  dir?: string;
  crossdomain?: boolean;
}

export interface HttpServiceOptions {
  /** The block's name in log lines: "http_server" (default), "exporter". */
  name?: string;
  /** The path shown in the "listen at" line after the address (e.g. "/metrics"). */
  path?: string;
}

export class HttpService {
  private server: HttpServer | undefined;
  private readonly name: string;
  /** What the "listen at" line calls the server: SRS's "http" for http_server. */
  private readonly label: string;
  private readonly path: string;

  /** @param mount called on each new HttpServer, to mount the app layer's routes. */
  constructor(
    private readonly mount: (server: HttpServer) => void = () => {},
    options: HttpServiceOptions = {},
  ) {
    this.name = options.name ?? "http_server";
    this.label = this.name === "http_server" ? "http" : this.name;
    this.path = options.path ?? "";
  }

  get http(): HttpServer | undefined {
    return this.server;
  }

  /** Starts when enabled; throws ERR_SERVER_LISTEN when an address cannot be listened on. */
  async start(config: HttpBlock): Promise<void> {
    if (!config.enabled) return;
    const dir = config.dir ?? "";
    const server = new HttpServer({ dir, crossdomain: config.crossdomain ?? false });
    this.mount(server);
    try {
      for (const a of config.listen) {
        const port = await server.listen(a.host, a.port);
        log.trace(0, `${this.label} listen at http://${a.host}:${port}${this.path}${dir ? `, dir ${dir}` : ""}`);
      }
    } catch (err) {
      server.close();
      throw err;
    }
    this.server = server;
  }

  /** Applies a reloaded block. Errors are logged: the rest of the server keeps running. */
  async reload(config: HttpBlock): Promise<void> {
    try {
      if (!config.enabled) {
        if (this.server) log.trace(0, `reload: ${this.label === "http" ? this.name : this.label} disabled`);
        this.stop();
        return;
      }
      if (!this.server) {
        await this.start(config);
        return;
      }
      const server = this.server;
      server.configure({ dir: config.dir ?? "", crossdomain: config.crossdomain ?? false });
      for (const a of server.addresses()) {
        if (!config.listen.some((b) => same(a, b))) {
          server.unlisten(a);
          log.trace(0, `reload: ${this.label} stopped listening on ${a.host}:${a.port}`);
        }
      }
      for (const a of config.listen) {
        if (server.addresses().some((b) => same(a, b))) continue;
        const port = await server.listen(a.host, a.port);
        log.trace(0, `reload: ${this.label} listen at http://${a.host}:${port}${this.path}`);
      }
    } catch (err) {
      log.error(0, `reload: ${this.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }
}
