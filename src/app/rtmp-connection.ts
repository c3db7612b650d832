/**
 * The application's side of one RTMP connection: chooses the vhost, turns publish and
 * play into a Source's publisher or consumer, and cleans up when the connection ends. The
 * protocol itself is RtmpServerSession's.
 */
import { MIN_LATENCY_MW_MS, type VhostConfig } from "../conf/config.js";
import { SluiceError } from "../core/errors.js";
import { log } from "../core/logger.js";
import { RtmpPlayer } from "../outputs/rtmp/rtmp-player.js";
import type {
  ConnectRequest,
  PlayRequest,
  PublishRequest,
  RtmpServerSession,
  RtmpServerSessionHandler,
} from "../protocol/rtmp/server-session.js";
import { TimestampUnwrapper } from "../protocol/rtmp/timestamp-unwrapper.js";
import type { Source, SourcePlayConfig } from "../stream/source.js";
import type { StreamRegistry } from "../stream/stream-registry.js";
import { checkAccess } from "./access.js";
import { BandCheck, admitBandcheck } from "./bandcheck.js";
import { identityOf, loopReason } from "../outputs/forward/upstream-identity.js";
import { bothDecisions, type HookDecision } from "./http-hooks.js";
import type { HookClient, HookStream, StreamHooks } from "./stream-hooks.js";
import type { Admission, PlayContext, PublishContext } from "./stream-observer.js";
import { parseStreamRequest } from "./stream-url.js";

/** What a connection needs from the server around it. */
export interface ConnectionContext {
  readonly registry: StreamRegistry;
  /** The vhost for a name from the client, or undefined when none serves it. */
  resolveVhost(name: string): VhostConfig | undefined;
  /** Called once when the connection is over. */
  onConnectionClosed(conn: RtmpConnection): void;
  /** A publish started on `source`: outputs that follow publishes (HLS, DVR, forward...) attach. */
  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void;
  /** The publisher of `source` left, after the Source was told. */
  unpublished(source: Source, vhost: string): void;
  /** A player started on `source` (an edge may start pulling it), and left. */
  playStarted(source: Source, vhost: VhostConfig, play?: PlayContext): void;
  playStopped(source: Source, vhost: string): void;
  /** http_hooks of every vhost. */
  readonly hooks: StreamHooks;
  /** This server's id: a connect whose hop list holds it came round a loop. */
  readonly serverId: string;
  /** What observers decide about a play or publish before it starts (token_traverse); null: nothing to wait for. */
  admit(vhost: VhostConfig, who: Admission): Promise<HookDecision> | null;
}

interface Publishing {
  source: Source;
  unwrapper: TimestampUnwrapper;
  /** The stream name and its query string (SRS's `param`), as the client sent them. */
  name: string;
  param: string;
  /** Who the hooks were told published (for on_unpublish). */
  hook: HookClient;
}

interface Playing {
  source: Source;
  player: RtmpPlayer;
  name: string;
  param: string;
  hook: HookClient;
}

/**
 * Runs `then` now when there is no decision to wait for, or when `pending` allows; a denial
 * or a connection closed meanwhile runs `denied` or nothing. Keeps a server without hooks
 * synchronous.
 */
function afterHook(pending: Promise<HookDecision> | null, alive: () => boolean, then: () => void, denied: (d: HookDecision) => void): void {
  if (pending === null) {
    then();
    return;
  }
  void pending.then((d) => {
    if (!alive()) return;
    if (d.allowed) then();
    else denied(d);
  });
}

/** "hook: on_play URL: answer..." or "origin: token_traverse: ...", for a denial's log line. */
function deniedBy(d: HookDecision): string {
  return `${d.by ?? "hook"}: ${d.reason}`;
}

/** What the API and hooks see of one of the connection's streams. */
export interface ConnectionStream {
  kind: "publish" | "play";
  source: Source;
  name: string;
  param: string;
}

/** Bytes a player's socket may hold unsent in Node before we stop writing to it. */
const PLAYER_SOCKET_BYTES = 2 * 1024 * 1024;
/** Bytes a player's own queue may hold, whatever `queue_length` says. */
const PLAYER_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * A Source's settings from its vhost. `min_latency on` caps the merged-write interval at
 * MIN_LATENCY_MW_MS (a smaller `mw_latency`, 0 included, is kept).
 */
export function sourcePlayConfig(vhost: VhostConfig): SourcePlayConfig {
  return {
    gopCache: vhost.play.gopCache,
    gopCacheMaxFrames: vhost.play.gopCacheMaxFrames,
    timeJitter: vhost.play.timeJitter,
    mwLatency: vhost.minLatency ? Math.min(vhost.play.mwLatency, MIN_LATENCY_MW_MS) : vhost.play.mwLatency,
  };
}

export class RtmpConnection implements RtmpServerSessionHandler {
  vhost: VhostConfig | undefined;
  /** What the client is doing, for timeouts and logs. */
  role: "none" | "publish" | "play" = "none";
  /** The vhost whose publish { } timeouts apply (the published stream's, by name). */
  publishVhost = "";
  /** performance.now() at the accepted publish, and at the last media message (0: none yet). */
  publishStartedAt = 0;
  lastMediaAt = 0;
  private readonly publishing = new Map<number, Publishing>();
  private readonly playing = new Map<number, Playing>();
  /** Stream ids whose publish or play waits for a hook. */
  private readonly pending = new Set<number>();
  private closed = false;
  /** The connection ended with an error (metrics). */
  closedWithError = false;
  /** The client as the hooks see it, once connected. */
  private hookClient: HookClient | undefined;
  /** The bandwidth check this connection is, on a bandcheck vhost. */
  private bandcheck: BandCheck | undefined;

  constructor(private readonly ctx: ConnectionContext) {}

  get publishingCount(): number {
    return this.publishing.size;
  }

  get players(): IterableIterator<Playing> {
    return this.playing.values();
  }

  /** The streams the connection publishes or plays now. */
  *streams(): Iterable<ConnectionStream> {
    for (const p of this.publishing.values()) yield { kind: "publish", source: p.source, name: p.name, param: p.param };
    for (const p of this.playing.values()) yield { kind: "play", source: p.source, name: p.name, param: p.param };
  }

  onConnect(session: RtmpServerSession, req: ConnectRequest): void {
    const r = parseStreamRequest(req.tcUrl, req.app, "");
    const vhost = this.ctx.resolveVhost(r.vhost);
    if (!vhost) {
      log.warn(session.id, `rtmp ${session.peer} refused: vhost "${r.vhost}" is not served (tcUrl ${req.tcUrl})`);
      session.rejectConnect("NetConnection.Connect.Rejected", `vhost ${r.vhost} is not served`);
      return;
    }
    // A server's pull or push names the servers its stream passed through: this one among
    // them means a loop (through any number of servers), refused before it goes round again.
    const loop = loopReason(identityOf(req.commandObject), this.ctx.serverId);
    if (loop) {
      log.error(session.id, `rtmp ${session.peer} connect tcUrl=${req.tcUrl} refused: ${loop}`);
      session.rejectConnect("NetConnection.Connect.Rejected", loop);
      return;
    }
    this.vhost = vhost;
    log.trace(session.id, `rtmp ${session.peer} connect tcUrl=${req.tcUrl} app=${req.app} vhost=${vhost.name} flashVer=${req.flashVer}`);
    const client = this.clientFor(session, vhost, r.app);
    this.hookClient = client;
    afterHook(
      this.ctx.hooks.connect(client, { stream: "", param: r.param }),
      () => !this.closed,
      () => (vhost.bandcheck.enabled ? this.startBandcheck(session, vhost, req) : session.acceptConnect(vhost.chunkSize)),
      (d) => {
        log.warn(session.id, `rtmp ${session.peer} connect refused by ${deniedBy(d)}`);
        session.rejectConnect("NetConnection.Connect.Rejected", "denied by the on_connect hook");
      },
    );
  }

  /** bandcheck { } on the vhost: the connect is a bandwidth check, not a publish or play (bandcheck.ts). */
  private startBandcheck(session: RtmpServerSession, vhost: VhostConfig, req: ConnectRequest): void {
    const refused = admitBandcheck(vhost.name, vhost.bandcheck, req.tcUrl);
    if (refused) {
      log.warn(session.id, `rtmp ${session.peer} connect refused: ${refused}`);
      session.rejectConnect("NetConnection.Connect.Rejected", refused.startsWith("bandcheck rejected") ? "bandcheck rejected" : "bandcheck: bad key");
      return;
    }
    session.acceptConnect(vhost.chunkSize);
    log.trace(session.id, `rtmp ${session.peer} bandcheck starts (limit ${vhost.bandcheck.limitKbps} kbps)`);
    this.bandcheck = new BandCheck(session, vhost.bandcheck);
    void this.bandcheck.run();
  }

  onCommand(_session: RtmpServerSession, name: string): void {
    this.bandcheck?.onCommand(name);
  }

  private clientFor(session: RtmpServerSession, vhost: VhostConfig, app: string): HookClient {
    const req = session.connect;
    return { id: session.id, ip: session.ip, vhost, app, tcUrl: req?.tcUrl ?? "", pageUrl: req?.pageUrl ?? "" };
  }

  private streamOf(session: RtmpServerSession, name: string): { vhost: VhostConfig; app: string; stream: string; param: string } {
    const req = session.connect!;
    const r = parseStreamRequest(req.tcUrl, req.app, name);
    // A vhost named in the stream's own parameters overrides the one chosen at connect.
    const vhost = (r.vhost && this.ctx.resolveVhost(r.vhost)) || this.vhost!;
    return { vhost, app: r.app, stream: r.stream, param: r.param };
  }

  onPublish(session: RtmpServerSession, req: PublishRequest): void {
    const { vhost, app, stream, param } = this.streamOf(session, req.name);
    if (!stream) {
      session.rejectPublish(req.streamId, "NetStream.Publish.BadName", "empty stream name");
      return;
    }
    const refused = checkAccess(vhost, "publish", session.ip, session.connect?.pageUrl ?? "");
    if (refused) {
      log.warn(session.id, `rtmp ${session.peer} publish ${vhost.name}/${app}/${stream} refused: ${refused}`);
      session.rejectPublish(req.streamId, "NetStream.Publish.Rejected", "access denied");
      return;
    }
    if (this.pending.has(req.streamId) || this.publishing.has(req.streamId)) {
      throw new SluiceError("ERR_RTMP_STATE", `publish twice on stream id ${req.streamId}`);
    }
    const hook = this.clientFor(session, vhost, app);
    this.decide(session, "publish", req.streamId, vhost, hook, { stream, param }, () => this.startPublish(session, req, vhost, app, stream, param, hook));
  }

  /**
   * Runs `start` once the hooks (on_publish / on_play) and the observers' admission
   * (token_traverse) allow the client, at once when nothing has to be asked; a denial is
   * answered NetStream.Publish.Rejected / NetStream.Play.Rejected with one log line.
   */
  private decide(
    session: RtmpServerSession,
    kind: "publish" | "play",
    streamId: number,
    vhost: VhostConfig,
    hook: HookClient,
    s: HookStream,
    start: () => void,
  ): void {
    const asked = kind === "publish" ? this.ctx.hooks.publish(hook, s) : this.ctx.hooks.play(hook, s);
    const pending = bothDecisions(asked, this.ctx.admit(vhost, { kind, client: hook, stream: s }));
    if (pending) this.pending.add(streamId);
    afterHook(
      pending,
      () => (this.pending.delete(streamId), !this.closed),
      start,
      (d) => {
        log.warn(session.id, `rtmp ${session.peer} ${kind} ${vhost.name}/${hook.app}/${s.stream} refused by ${deniedBy(d)}`);
        const description = d.by ? `denied by the ${d.by}` : `denied by the on_${kind} hook`;
        if (kind === "publish") session.rejectPublish(streamId, "NetStream.Publish.Rejected", description);
        else session.rejectPlay(streamId, "NetStream.Play.Rejected", description);
      },
    );
  }

  private startPublish(
    session: RtmpServerSession,
    req: PublishRequest,
    vhost: VhostConfig,
    app: string,
    stream: string,
    param: string,
    hook: HookClient,
  ): void {
    const source = this.ctx.registry.acquire(vhost.name, app, stream, sourcePlayConfig(vhost));
    if (!source.publish(session)) {
      log.warn(session.id, `rtmp ${session.peer} publish ${source.key} refused: already published by client ${source.publisher?.id}`);
      this.ctx.registry.release(source);
      session.rejectPublish(req.streamId, "NetStream.Publish.BadName", `Stream ${stream} is already publishing.`);
      return;
    }
    this.role = "publish";
    this.publishVhost = vhost.name;
    this.publishStartedAt = performance.now();
    this.lastMediaAt = 0;
    if (source.tcUrl === "") source.tcUrl = session.connect?.tcUrl ?? "";
    this.publishing.set(req.streamId, { source, unwrapper: new TimestampUnwrapper(), name: stream, param, hook });
    log.trace(session.id, `rtmp ${session.peer} publish ${source.key} type=${req.type}`);
    session.acceptPublish(req.streamId);
    this.ctx.published(source, vhost, {
      close: (reason) => {
        log.warn(session.id, `rtmp ${session.peer} publish ${source.key} closed: ${reason}`);
        session.close(undefined);
      },
      client: hook,
      stream: { stream, param },
    });
  }

  onMedia(session: RtmpServerSession, streamId: number, type: number, timestamp: number, payload: Buffer): void {
    const p = this.publishing.get(streamId);
    if (!p) return;
    this.lastMediaAt = performance.now();
    p.source.onMessage(type, p.unwrapper.unwrap(timestamp), payload);
  }

  onPlay(session: RtmpServerSession, req: PlayRequest): void {
    const { vhost, app, stream, param } = this.streamOf(session, req.name);
    if (this.playing.has(req.streamId)) {
      throw new SluiceError("ERR_RTMP_STATE", `play twice on stream id ${req.streamId}`);
    }
    const refused = checkAccess(vhost, "play", session.ip, session.connect?.pageUrl ?? "");
    if (refused) {
      log.warn(session.id, `rtmp ${session.peer} play ${vhost.name}/${app}/${stream} refused: ${refused}`);
      session.rejectPlay(req.streamId, "NetStream.Play.Rejected", "access denied");
      return;
    }
    if (this.pending.has(req.streamId)) throw new SluiceError("ERR_RTMP_STATE", `play twice on stream id ${req.streamId}`);
    const hook = this.clientFor(session, vhost, app);
    this.decide(session, "play", req.streamId, vhost, hook, { stream, param }, () => this.startPlay(session, req, vhost, app, stream, param, hook));
  }

  private startPlay(
    session: RtmpServerSession,
    req: PlayRequest,
    vhost: VhostConfig,
    app: string,
    stream: string,
    param: string,
    hook: HookClient,
  ): void {
    const source = this.ctx.registry.acquire(vhost.name, app, stream, sourcePlayConfig(vhost));
    const player = new RtmpPlayer(
      session,
      req.streamId,
      session.outChunkSize,
      {
        queueMs: vhost.play.queueLength * 1000,
        queueBytes: PLAYER_QUEUE_BYTES,
        socketBytes: PLAYER_SOCKET_BYTES,
      },
      source.gopCacheSize > 0,
    );
    this.role = "play";
    // tcp_nodelay: as SRS, TCP_NODELAY on the player's socket.
    if (vhost.tcpNodelay) session.socket.setNoDelay(true);
    if (source.tcUrl === "") source.tcUrl = session.connect?.tcUrl ?? "";
    this.playing.set(req.streamId, { source, player, name: stream, param, hook });
    session.acceptPlay(req.streamId);
    log.trace(
      session.id,
      `rtmp ${session.peer} play ${source.key}${source.publisher ? "" : " (waiting for a publisher)"}`,
    );
    source.addConsumer(player);
    this.ctx.playStarted(source, vhost, {
      client: hook,
      stream: { stream, param },
      connect: session.connect?.commandObject,
      close: (reason) => {
        log.warn(session.id, `rtmp ${session.peer} play ${source.key} closed: ${reason}`);
        session.close(undefined);
      },
    });
  }

  onPause(session: RtmpServerSession, streamId: number, paused: boolean): void {
    const p = this.playing.get(streamId);
    if (!p) return;
    p.player.setPaused(paused);
    if (paused) {
      session.sendOnStatus(streamId, "status", "NetStream.Pause.Notify", "Paused stream.");
    } else {
      session.sendOnStatus(streamId, "status", "NetStream.Unpause.Notify", "Unpaused stream.");
    }
  }

  onReceive(session: RtmpServerSession, streamId: number, kind: "audio" | "video", enabled: boolean): void {
    const p = this.playing.get(streamId);
    if (p) p.player[kind] = enabled;
  }

  onStreamClosed(session: RtmpServerSession, streamId: number): void {
    const pub = this.publishing.get(streamId);
    if (pub) {
      this.publishing.delete(streamId);
      pub.source.unpublish(session);
      log.trace(session.id, `rtmp ${session.peer} unpublish ${pub.source.key}`);
      this.ctx.unpublished(pub.source, this.publishVhost);
      this.ctx.hooks.unpublish(pub.hook, { stream: pub.name, param: pub.param });
      this.ctx.registry.release(pub.source);
    }
    const play = this.playing.get(streamId);
    if (play) {
      this.playing.delete(streamId);
      play.source.removeConsumer(play.player);
      this.ctx.hooks.stop(play.hook, { stream: play.name, param: play.param });
      this.ctx.playStopped(play.source, play.hook.vhost.name);
      this.ctx.registry.release(play.source);
    }
  }

  onClose(session: RtmpServerSession, err: SluiceError | undefined): void {
    this.closed = true;
    this.bandcheck?.onClose();
    this.closedWithError = err !== undefined;
    for (const id of [...this.publishing.keys(), ...this.playing.keys()]) this.onStreamClosed(session, id);
    if (this.hookClient) this.ctx.hooks.close(this.hookClient, session.bytesOut, session.bytesIn);
    const secs = ((performance.now() - session.startedAt) / 1000).toFixed(1);
    if (err) {
      log.warn(session.id, `rtmp ${session.peer} closed: ${err.code} ${err.message} (after ${secs}s, in ${session.bytesIn} B)`);
    } else {
      log.trace(session.id, `rtmp ${session.peer} disconnected after ${secs}s, in ${session.bytesIn} B, out ${session.bytesOut} B`);
    }
    this.ctx.onConnectionClosed(this);
  }
}
