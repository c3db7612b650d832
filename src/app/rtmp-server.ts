/**
 * The RTMP service: listeners on every `listen` address, `max_connections` checked at
 * accept, one RtmpConnection per socket, one sweep every SWEEP_MS for timeouts (no timer
 * per socket), the pithy print (one timer), and reload. Owns the StreamRegistry.
 */
import net from "node:net";
import { DEFAULT_VHOST, type ListenAddress, type SluiceConfig, type VhostConfig } from "../conf/config.js";
import { SluiceError } from "../core/errors.js";
import { log } from "../core/logger.js";
import type { Amf0Object } from "../protocol/rtmp/amf0.js";
import { RtmpServerSession, defaultSessionOptions } from "../protocol/rtmp/server-session.js";
import type { Source } from "../stream/source.js";
import { StreamRegistry } from "../stream/stream-registry.js";
import { HlsService } from "./hls-service.js";
import { PROCESS_IDS } from "../core/ids.js";
import { HttpHooks, bothDecisions, type HookDecision, type HookObserver } from "./http-hooks.js";
import { StreamHooks } from "./stream-hooks.js";
import type { Admission, PlayContext, PublishContext, StreamObserver } from "./stream-observer.js";
import type { HlsSegmentWritten } from "../outputs/hls/hls-stream.js";
import { PithyPrint, type PithyClient, type PithySubject } from "./pithy-print.js";
import { RtmpConnection, sourcePlayConfig, type ConnectionContext } from "./rtmp-connection.js";

/** The timeout sweep's interval: timeouts fire at most this late (normal_timeout is 5 s). */
const SWEEP_MS = 500;

function listenKey(a: ListenAddress): string {
  return `${a.host}|${a.port}`;
}

export interface RtmpServerTimeouts {
  /** From accept to an accepted connect command, ms. */
  handshakeMs: number;
  /** A connected client that neither publishes nor plays, ms. */
  idleMs: number;
}

/** Publishers' timeouts are per vhost: `publish { firstpkt_timeout; normal_timeout; }`. */
export const defaultTimeouts: RtmpServerTimeouts = { handshakeMs: 10_000, idleMs: 30_000 };

export interface RtmpServerOptions {
  timeouts?: RtmpServerTimeouts;
  /** Observes each hook call (metrics). */
  hookObserver?: HookObserver;
  /**
   * The id this server names itself by in the pulls and pushes it makes, and looks for in
   * those it receives (loops). The process's id by default; in-process tests give each
   * server its own.
   */
  serverId?: string;
}

export class RtmpServer implements ConnectionContext, PithySubject {
  readonly registry = new StreamRegistry();
  readonly hls = new HlsService();
  /** http_hooks { } of every vhost; the HTTP-FLV routes and HLS use it too. */
  readonly hooks: StreamHooks;
  private readonly observers: StreamObserver[] = [];
  /** Listeners by "host|port". */
  private readonly servers = new Map<string, net.Server>();
  private readonly live = new Map<RtmpConnection, RtmpServerSession>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private refusedSinceLog = 0;
  private lastRefusedLog = 0;
  /** Connections accepted, and those that ended with an error, since start (metrics). */
  acceptedTotal = 0;
  erroredTotal = 0;
  /** Bytes of connections already closed, for the pithy print's totals. */
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private readonly pithy: PithyPrint;
  private readonly timeouts: RtmpServerTimeouts;
  readonly serverId: string;

  constructor(
    private config: SluiceConfig,
    options: RtmpServerOptions = {},
  ) {
    this.timeouts = options.timeouts ?? defaultTimeouts;
    this.serverId = options.serverId ?? PROCESS_IDS.serverId;
    this.pithy = new PithyPrint(this, config.pithyPrintMs);
    this.hooks = new StreamHooks(new HttpHooks(options.hookObserver), { serverId: this.serverId, serviceId: PROCESS_IDS.serviceId }, this.registry);
  }

  /** Every live RTMP connection and its session (the API lists them). */
  connections(): IterableIterator<[RtmpConnection, RtmpServerSession]> {
    return this.live.entries();
  }

  /** The connect command object of a live RTMP client, by its id (forward and edge read a sender's identity there). */
  connectOf(clientId: number): Amf0Object | undefined {
    for (const session of this.live.values()) if (session.id === clientId) return session.connect?.commandObject;
    return undefined;
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /** The listening addresses (after start), e.g. for tests that listen on port 0. */
  addresses(): net.AddressInfo[] {
    return [...this.servers.values()]
      .map((s) => s.address())
      .filter((a): a is net.AddressInfo => a !== null && typeof a === "object");
  }

  async start(): Promise<void> {
    for (const addr of this.config.listen) await this.listen(addr);
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.pithy.start();
  }

  totalBytes(): { in: number; out: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const session of this.live.values()) {
      bytesIn += session.bytesIn;
      bytesOut += session.bytesOut;
    }
    return { in: bytesIn, out: bytesOut };
  }

  *clients(): Iterable<PithyClient> {
    for (const [conn, session] of this.live) {
      yield {
        id: session.id,
        peer: session.peer,
        role: conn.role,
        vhost: conn.vhost?.name ?? "",
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
        startedAt: session.startedAt,
      };
    }
  }

  private async listen(addr: ListenAddress): Promise<void> {
    const server = net.createServer((socket) => this.onSocket(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(new SluiceError("ERR_SERVER_LISTEN", `cannot listen on ${addr.host}:${addr.port}: ${err.code ?? err.message}`, { cause: err })),
      );
      server.listen({ host: addr.host, port: addr.port, backlog: 4096 }, () => resolve());
    });
    server.on("error", (err) => log.error(0, `rtmp listener ${addr.host}:${addr.port}: ${err.message}`));
    this.servers.set(listenKey(addr), server);
    const a = server.address() as net.AddressInfo;
    log.trace(0, `rtmp listen at tcp://${a.address}:${a.port}`);
  }

  /**
   * Applies a new config (reload): listeners added and removed (connections accepted on a
   * removed one stay), vhosts replaced; clients of a removed or disabled vhost are closed;
   * play settings reach existing streams (GOP cache and merged writes now, time_jitter at
   * the next publish); chunk_size applies to new connections; publish timeouts at the next
   * sweep; pithy_print_ms now. Clients of unaffected vhosts notice nothing.
   */
  async reload(next: SluiceConfig): Promise<void> {
    const wanted = new Map(next.listen.map((a) => [listenKey(a), a]));
    for (const [key, server] of [...this.servers]) {
      if (wanted.has(key)) continue;
      server.close();
      this.servers.delete(key);
      log.trace(0, `reload: stopped listening on ${key.replace("|", ":")}`);
    }
    for (const [key, addr] of wanted) {
      if (this.servers.has(key)) continue;
      try {
        await this.listen(addr);
      } catch (err) {
        log.error(0, `reload: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.config = next;
    this.pithy.configure(next.pithyPrintMs);
    for (const [conn, session] of [...this.live]) {
      if (!conn.vhost) continue;
      const v = next.vhosts.get(conn.vhost.name);
      if (!v || !v.enabled) {
        log.trace(session.id, `reload: closing ${session.peer}: vhost ${conn.vhost.name} was ${v ? "disabled" : "removed"}`);
        session.end();
        continue;
      }
      conn.vhost = v;
    }
    for (const source of this.registry.all()) {
      const v = next.vhosts.get(source.vhost);
      if (v) source.reconfigure(sourcePlayConfig(v));
    }
    for (const o of this.observers) o.reload?.(next);
  }

  /** Stops accepting, closes every connection. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.pithy.stop();
    // close() resolves only once every connection has ended: stop accepting, close the
    // sessions and the observers' children, and only then wait for it.
    const listenersClosed = [...this.servers.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const session of [...this.live.values()]) session.close(undefined);
    for (const s of this.registry.all()) s.dispose();
    this.hls.stop();
    await Promise.all(this.observers.map((o) => o.stop?.()));
    await Promise.all(listenersClosed);
    await this.hls.settled();
  }

  /** The config in force (it changes on reload). */
  get currentConfig(): SluiceConfig {
    return this.config;
  }

  /** Adds an observer of publishes and plays (DVR, forward, transcode, edge). */
  addObserver(o: StreamObserver): void {
    this.observers.push(o);
  }

  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void {
    const onSegment =
      vhost.httpHooks.enabled && vhost.httpHooks.onHls.length > 0 ? (seg: HlsSegmentWritten) => this.hooks.hls(ctx.client, ctx.stream, seg) : null;
    this.hls.published(source, vhost, ctx.close, onSegment);
    for (const o of this.observers) o.published?.(source, vhost, ctx);
  }

  unpublished(source: Source, vhost: string): void {
    const v = this.config.vhosts.get(vhost);
    this.hls.unpublished(source, v);
    for (const o of this.observers) o.unpublished?.(source, v);
  }

  playStarted(source: Source, vhost: VhostConfig, play?: PlayContext): void {
    for (const o of this.observers) o.playStarted?.(source, vhost, play);
  }

  admit(vhost: VhostConfig, who: Admission): Promise<HookDecision> | null {
    let pending: Promise<HookDecision> | null = null;
    for (const o of this.observers) {
      const d = o.admit?.(vhost, who);
      if (d) pending = bothDecisions(pending, d);
    }
    return pending;
  }

  playStopped(source: Source, vhost: string): void {
    const v = this.config.vhosts.get(vhost);
    for (const o of this.observers) o.playStopped?.(source, v);
  }

  resolveVhost(name: string): VhostConfig | undefined {
    const v = this.config.vhosts.get(name) ?? this.config.vhosts.get(DEFAULT_VHOST);
    return v && v.enabled ? v : undefined;
  }

  onConnectionClosed(conn: RtmpConnection): void {
    if (conn.closedWithError) this.erroredTotal++;
    const session = this.live.get(conn);
    if (session) {
      this.closedBytesIn += session.bytesIn;
      this.closedBytesOut += session.bytesOut;
    }
    this.live.delete(conn);
  }

  private onSocket(socket: net.Socket): void {
    if (this.live.size >= this.config.maxConnections) {
      socket.destroy();
      this.logRefused(socket);
      return;
    }
    this.acceptedTotal++;
    const conn = new RtmpConnection(this);
    const session = new RtmpServerSession(socket, conn, {
      ...defaultSessionOptions,
      chunkSize: this.config.chunkSize,
    });
    this.live.set(conn, session);
  }

  private logRefused(socket: net.Socket): void {
    // At most one line a second, so a flood of connections cannot flood the log.
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusedLog < 1000) return;
    log.warn(
      0,
      `rtmp ${socket.remoteAddress}:${socket.remotePort} refused: max_connections ${this.config.maxConnections} reached (${this.refusedSinceLog} refused since the last report)`,
    );
    this.lastRefusedLog = now;
    this.refusedSinceLog = 0;
  }

  private sweep(): void {
    const now = performance.now();
    const t = this.timeouts;
    for (const [conn, session] of this.live) {
      const idle = now - session.lastReadAt;
      if (session.state === "handshake" || session.state === "connect") {
        if (now - session.startedAt > t.handshakeMs) {
          session.close(
            new SluiceError(
              session.state === "handshake" ? "ERR_RTMP_HANDSHAKE_TIMEOUT" : "ERR_RTMP_TIMEOUT",
              `no ${session.state === "handshake" ? "handshake" : "connect"} within ${t.handshakeMs} ms`,
            ),
          );
        }
      } else if (conn.role === "publish") {
        // As SRS: firstpkt_timeout for the first media message after publish, then
        // normal_timeout between media messages.
        const p = (this.config.vhosts.get(conn.publishVhost) ?? conn.vhost)?.publish;
        if (!p) continue;
        if (conn.lastMediaAt === 0) {
          if (now - conn.publishStartedAt > p.firstPktTimeout) {
            session.close(new SluiceError("ERR_RTMP_TIMEOUT", `publisher sent no media within firstpkt_timeout ${p.firstPktTimeout} ms of publish`));
          }
        } else if (now - conn.lastMediaAt > p.normalTimeout) {
          session.close(
            new SluiceError("ERR_RTMP_TIMEOUT", `publisher sent no media for ${Math.round(now - conn.lastMediaAt)} ms (normal_timeout ${p.normalTimeout} ms)`),
          );
        }
      } else if (conn.role === "none" && idle > t.idleMs) {
        session.close(new SluiceError("ERR_RTMP_TIMEOUT", `neither publish nor play for ${Math.round(idle)} ms`));
      }
    }
  }
}
