/**
 * cluster { mode remote; origin HOST:PORT ...; token_traverse; }: this server is an edge
 * of its origins (SRS's SrsPlayEdge and SrsPublishEdge, docs/cluster.md).
 *
 * - Play: the first player of a stream that nobody publishes here starts one pull of it
 *   from the origins (EdgeIngester), which publishes into the local Source; every other
 *   player of the stream shares it. The pull stops EDGE_LINGER_MS after the last player
 *   left (a player back within that time finds the stream running). Origins fail over in
 *   list order; players stay connected through it.
 * - Publish: a publish to the edge is pushed to the origins (an RtmpForwarder over the
 *   origin list, with failover); players on the edge play it here. An origin that refuses
 *   the publish (its on_publish hook, a name already taken) closes the edge's publisher.
 * - token_traverse on: as SRS's check_edge_token_traverse_auth, each player and publisher
 *   (RTMP, HTTP-FLV, WS-FLV) is first authorised by the origin, before its play or publish
 *   starts: a connect to the origin carrying the client's tcUrl and param (its token), so
 *   that the origin's on_connect hook decides; a refusal is answered as a hook's would be.
 *   The pull itself always carries the param of a player, so the origin's on_play sees a
 *   token.
 * - A pulled stream is a publish here like any other for the server's outputs (as SRS's
 *   edge: HLS, DVR, forward, transcode work on it): the pull announces its start and end
 *   through the host's published/unpublished, marked `pulledFrom`.
 *
 * Pulls and pushes name this server and the stream's path in their connect
 * (upstream-identity.ts); the server refuses a connect whose path already holds it (edges
 * that are each other's origin) as a dead loop (rtmp-connection.ts).
 */
import type { SluiceConfig, VhostConfig } from "../conf/config.js";
import { SluiceError, errorCode } from "../core/errors.js";
import { nextClientId } from "../core/ids.js";
import { log } from "../core/logger.js";
import { EdgeIngester } from "../outputs/forward/edge-ingester.js";
import { RtmpForwarder } from "../outputs/forward/rtmp-forwarder.js";
import { upstreamUrl } from "../outputs/forward/upstream.js";
import { connectIdentity, identityOf, parseEndpoint } from "../outputs/forward/upstream-identity.js";
import { RtmpClient } from "../protocol/rtmp/client-session.js";
import type { Source } from "../stream/source.js";
import type { StreamRegistry } from "../stream/stream-registry.js";
import { FORWARD_QUEUE_BYTES, endpointLoop, upstreamVhost, type ForwardHost } from "./forward-service.js";
import type { HookDecision } from "./http-hooks.js";
import { sourcePlayConfig } from "./rtmp-connection.js";
import type { Admission, PlayContext, PublishContext, StreamObserver } from "./stream-observer.js";

/** How long a pull outlives its last player. */
export const EDGE_LINGER_MS = 10_000;
/** token_traverse connects to the origins at once, at most. */
export const MAX_TRAVERSE_CHECKS = 32;

function isEdge(vhost: VhostConfig | undefined): vhost is VhostConfig {
  return vhost !== undefined && vhost.cluster.mode === "remote" && vhost.cluster.origin.length > 0;
}

/** What the edge needs of the server: its streams, its id and connects, and its outputs. */
export interface EdgeHost extends ForwardHost {
  readonly registry: StreamRegistry;
  /** A pull started publishing `source` here: the server's outputs (HLS, DVR, ...) follow it. */
  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void;
  /** ...and stopped (after the Source was told). */
  unpublished(source: Source, vhost: string): void;
}

/** Whether `vhost` is an edge: cluster { mode remote; } with at least one origin. */
export function isEdgeVhost(vhost: VhostConfig | undefined): boolean {
  return isEdge(vhost);
}

interface Pull {
  ingester: EdgeIngester;
  vhost: string;
  app: string;
  stream: string;
  linger: NodeJS.Timeout | undefined;
}

export class EdgeService implements StreamObserver {
  /** Pulls by stream key (vhost/app/stream): the Source object may be replaced while one waits. */
  private readonly pulls = new Map<string, Pull>();
  private readonly pushes = new Map<Source, RtmpForwarder>();
  /** Sources published here by a pull now: their publish and its end are the pull's own. */
  private readonly pulled = new Set<Source>();
  /** token_traverse checks in flight, by question; how many run, and those waiting a turn. */
  private readonly checks = new Map<string, Promise<string | null>>();
  private checking = 0;
  private readonly waitingChecks: Array<() => void> = [];

  constructor(
    private readonly host: EdgeHost,
    private config: SluiceConfig,
    private readonly lingerMs = EDGE_LINGER_MS,
  ) {}

  private get registry(): StreamRegistry {
    return this.host.registry;
  }

  /** The pull of a stream, if one runs (tests, the API). */
  pullOf(key: string): EdgeIngester | undefined {
    return this.pulls.get(key)?.ingester;
  }

  /** token_traverse checks connecting to the origins now (at most MAX_TRAVERSE_CHECKS). */
  get traverseChecks(): number {
    return this.checking;
  }

  get pullCount(): number {
    return this.pulls.size;
  }

  admit(vhost: VhostConfig, who: Admission): Promise<HookDecision> | null {
    if (!isEdge(vhost) || !vhost.cluster.tokenTraverse) return null;
    return this.checkAtOrigin(vhost, who.client.app, who.stream.param, who.client.pageUrl).then((refused) => {
      if (refused) return { allowed: false, reason: refused, by: "origin" };
      log.trace(who.client.id, `edge token_traverse: the origin allows ${who.kind} ${vhost.name}/${who.client.app}/${who.stream.stream} by client ${who.client.id}`);
      return { allowed: true, reason: "" };
    });
  }

  playStarted(source: Source, vhost: VhostConfig, play?: PlayContext): void {
    if (!isEdge(vhost)) return;
    const incoming = identityOf(play?.connect);
    const existing = this.pulls.get(source.key);
    if (existing && existing.ingester.state !== "stopped") {
      if (existing.linger) clearTimeout(existing.linger);
      existing.linger = undefined;
      existing.ingester.offerParam(play?.stream.param ?? "");
      return;
    }
    if (existing) this.stopPull(source.key);
    // Published here (a publish to this edge): its players play it here.
    if (source.publisher) return;
    this.startPull(source, vhost, play, incoming);
  }

  private startPull(source: Source, vhost: VhostConfig, play: PlayContext | undefined, incoming: ReturnType<typeof identityOf>): void {
    const { app, stream } = source;
    const param = play?.stream.param ?? "";
    const ingester: EdgeIngester = new EdgeIngester(nextClientId(), {
      origins: vhost.cluster.origin,
      vhost: upstreamVhost(vhost.name),
      app,
      stream,
      param,
      pageUrl: play?.client.pageUrl ?? "",
      ...connectIdentity(incoming, this.config.listen.map((l) => l.port), this.host.serverId),
      chunkSize: vhost.chunkSize,
      published: (s) => this.announce(s, ingester, param),
      unpublished: (s) => {
        this.host.unpublished(s, s.vhost);
        this.pulled.delete(s);
      },
      acquire: () => {
        const v = this.config.vhosts.get(source.vhost) ?? vhost;
        return this.registry.acquire(source.vhost, app, stream, sourcePlayConfig(v));
      },
      release: (s) => this.registry.release(s),
    });
    const pull: Pull = { ingester, vhost: source.vhost, app, stream, linger: undefined };
    this.pulls.set(source.key, pull);
    log.trace(ingester.ref.id, `edge pull ${source.key} from ${vhost.cluster.origin.join(", ")} for client ${play?.client.id ?? "?"}`);
    ingester.start();
  }

  /** Tells the server's outputs that the pull publishes `source` now. */
  private announce(source: Source, ingester: EdgeIngester, param: string): void {
    const vhost = this.config.vhosts.get(source.vhost);
    if (!vhost) return;
    this.pulled.add(source);
    this.host.published(source, vhost, {
      pulledFrom: ingester.origin,
      client: { id: ingester.ref.id, ip: parseEndpoint(ingester.origin).host, vhost, app: source.app, tcUrl: source.tcUrl, pageUrl: "" },
      stream: { stream: source.stream, param },
      // What would close a publisher (hls_on_error disconnect) drops the pull's connection:
      // it starts again from the next origin.
      close: (reason) => ingester.drop(reason),
    });
  }

  playStopped(source: Source): void {
    const pull = this.pulls.get(source.key);
    if (!pull || pull.linger || this.playersOf(pull) > 0) return;
    pull.linger = setTimeout(() => {
      pull.linger = undefined;
      if (this.pulls.get(source.key) !== pull || this.playersOf(pull) > 0) return;
      log.trace(pull.ingester.ref.id, `edge pull ${source.key}: no player for ${this.lingerMs / 1000}s`);
      this.stopPull(source.key);
    }, this.lingerMs);
  }

  published(source: Source, vhost: VhostConfig, ctx: PublishContext): void {
    if (!isEdge(vhost) || ctx.pulledFrom !== undefined) return;
    this.stopPush(source);
    // A publish here wins over a pull still waiting for its origin: players play it here.
    this.stopPull(source.key);
    const incoming = identityOf(this.host.connectOf(ctx.client.id));
    const push = new RtmpForwarder(source, {
      label: "edge push",
      endpoints: vhost.cluster.origin,
      vhost: upstreamVhost(vhost.name),
      param: ctx.stream.param,
      pageUrl: ctx.client.pageUrl,
      ...connectIdentity(incoming, this.config.listen.map((l) => l.port), this.host.serverId),
      queue: { queueMs: vhost.play.queueLength * 1000, queueBytes: FORWARD_QUEUE_BYTES },
      chunkSize: vhost.chunkSize,
      logId: ctx.client.id,
      // As SRS's edge: what the origin refuses, the edge does not take either.
      onRefused: (err, origin) => {
        if (this.pushes.get(source) !== push) return true;
        this.pushes.delete(source);
        ctx.close(`origin ${origin} refused the publish: ${err.message}`);
        return true;
      },
    });
    this.pushes.set(source, push);
    void Promise.all(vhost.cluster.origin.map((o) => endpointLoop(o, this.config.listen, ctx.client.ip, incoming))).then((loops) => {
      if (this.pushes.get(source) !== push) return;
      const loop = loops.find((l) => l !== null);
      if (loop) {
        this.pushes.delete(source);
        log.error(ctx.client.id, `edge push ${source.key} refused: ${loop}`);
        return;
      }
      push.start();
    });
  }

  unpublished(source: Source, vhost: VhostConfig | undefined): void {
    // The end of a pull's own publish (it stopped, or lost every origin).
    if (this.pulled.has(source)) return;
    this.stopPush(source);
    // Players of a publish to this edge that ended stay: they get the origin's stream now.
    if (isEdge(vhost) && source.playerCount > 0 && !source.publisher && !this.pulls.has(source.key)) {
      this.startPull(source, vhost, undefined, null);
    }
  }

  reload(config: SluiceConfig): void {
    this.config = config;
    // Origins and token_traverse apply to the next pull and push; a vhost that is no
    // longer an edge stops its own.
    for (const [key, pull] of [...this.pulls]) if (!isEdge(config.vhosts.get(pull.vhost))) this.stopPull(key);
    for (const source of [...this.pushes.keys()]) if (!isEdge(config.vhosts.get(source.vhost))) this.stopPush(source);
  }

  async stop(): Promise<void> {
    for (const key of [...this.pulls.keys()]) this.stopPull(key);
    const pushes = [...this.pushes.values()];
    this.pushes.clear();
    await Promise.all(pushes.map((p) => p.stop()));
  }

  private playersOf(pull: Pull): number {
    return this.registry.get(pull.vhost, pull.app, pull.stream)?.playerCount ?? 0;
  }

  private stopPull(key: string): void {
    const pull = this.pulls.get(key);
    if (!pull) return;
    this.pulls.delete(key);
    if (pull.linger) clearTimeout(pull.linger);
    pull.ingester.stop();
  }

  private stopPush(source: Source): void {
    const push = this.pushes.get(source);
    if (!push) return;
    this.pushes.delete(source);
    void push.stop();
  }

  /**
   * token_traverse: whether the origins allow a client of this edge, as SRS's
   * check_edge_token_traverse_auth: a connect to the origins in order, with the client's
   * param (its token) in the tcUrl's query and its pageUrl, until one answers. Resolves with
   * null when one accepted, else the reason (one refused, or none answered: SRS's "Illegal
   * edge token").
   *
   * So that a flood of clients is not passed on to the origin as a flood of connects,
   * clients that ask the same question at the same time (same vhost, app, param and
   * pageUrl) share one check, and at most MAX_TRAVERSE_CHECKS checks run at once; the others
   * wait their turn.
   */
  checkAtOrigin(vhost: VhostConfig, app: string, param: string, pageUrl: string): Promise<string | null> {
    const key = JSON.stringify([vhost.name, app, param, pageUrl]);
    let check = this.checks.get(key);
    if (check) return check;
    check = this.inTurn(() => this.askOrigins(vhost, app, param, pageUrl)).finally(() => this.checks.delete(key));
    this.checks.set(key, check);
    return check;
  }

  /** Runs `task` when fewer than MAX_TRAVERSE_CHECKS run. */
  private async inTurn<T>(task: () => Promise<T>): Promise<T> {
    if (this.checking >= MAX_TRAVERSE_CHECKS) await new Promise<void>((resolve) => this.waitingChecks.push(resolve));
    this.checking++;
    try {
      return await task();
    } finally {
      this.checking--;
      this.waitingChecks.shift()?.();
    }
  }

  private async askOrigins(vhost: VhostConfig, app: string, param: string, pageUrl: string): Promise<string | null> {
    const query = param.replace(/^\?/, "");
    let lastError = "";
    for (const origin of vhost.cluster.origin) {
      const base = upstreamUrl(origin, upstreamVhost(vhost.name), app, "_", "");
      const withQuery = query ? `${base.app}${base.app.includes("?") ? "&" : "?"}${query}` : base.app;
      const url = { ...base, app: withQuery, tcUrl: base.tcUrl.replace(base.app, withQuery), query: withQuery.slice(withQuery.indexOf("?") + 1) };
      const client = new RtmpClient(url, { pageUrl, timeoutMs: 5000 });
      try {
        await client.connect();
        return null;
      } catch (err) {
        const e = err instanceof SluiceError ? err : SluiceError.wrap(err, `token_traverse ${origin}`, "ERR_RTMP_PEER_CLOSED");
        if (errorCode(e) === "ERR_RTMP_COMMAND") return `token_traverse: origin ${origin} refused: ${e.message}`;
        lastError = `${origin}: ${e.message}`;
      } finally {
        client.close();
      }
    }
    return `token_traverse: no origin answered (${lastError})`;
  }
}
