/**
 * `http_server { }` over time: started when enabled, reconfigured on reload (dir and
 * crossdomain apply to the next request; listen addresses added and removed; listen
 * sockets kept when unchanged), stopped when disabled or on shutdown.
 *
 * Listen sockets are kept across a reload on purpose: the uWS 20.30 binary sets no
 * SO_REUSEADDR, so a port whose server side closed connections (TIME_WAIT) cannot be
 * listened on again for up to a minute.
 */
import type { HttpServerConfig, ListenAddress } from "../conf/config.js";
import { log } from "../core/logger.js";
import { HttpServer } from "./http-server.js";

function same(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

export class HttpService {
  private server: HttpServer | undefined;

  /** @param mount called on each new HttpServer, to mount the app layer's routes. */
  constructor(private readonly mount: (server: HttpServer) => void = () => {}) {}

  get http(): HttpServer | undefined {
    return this.server;
  }

  /** Starts when enabled; throws ERR_SERVER_LISTEN when an address cannot be listened on. */
  async start(config: HttpServerConfig): Promise<void> {
    if (!config.enabled) return;
    const server = new HttpServer({ dir: config.dir, crossdomain: config.crossdomain });
    this.mount(server);
    try {
      for (const a of config.listen) {
        const port = await server.listen(a.host, a.port);
        log.trace(0, `http listen at http://${a.host}:${port}, dir ${config.dir}`);
      }
    } catch (err) {
      server.close();
      throw err;
    }
    this.server = server;
  }

  /** Applies a reloaded block. Errors are logged: the rest of the server keeps running. */
  async reload(config: HttpServerConfig): Promise<void> {
    try {
      if (!config.enabled) {
        if (this.server) log.trace(0, "reload: http_server disabled");
        this.stop();
        return;
      }
      if (!this.server) {
        await this.start(config);
        return;
      }
      const server = this.server;
      server.configure({ dir: config.dir, crossdomain: config.crossdomain });
      for (const a of server.addresses()) {
        if (!config.listen.some((b) => same(a, b))) {
          server.unlisten(a);
          log.trace(0, `reload: http stopped listening on ${a.host}:${a.port}`);
        }
      }
      for (const a of config.listen) {
        if (server.addresses().some((b) => same(a, b))) continue;
        const port = await server.listen(a.host, a.port);
        log.trace(0, `reload: http listen at http://${a.host}:${port}`);
      }
    } catch (err) {
      log.error(0, `reload: http_server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }
}
