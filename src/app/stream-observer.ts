/**
 * What follows streams besides their players: HLS, DVR, forwarders, transcoders and edge
 * pulls. The RtmpServer tells every registered observer when a
 * publish starts and ends and when players come and go; each decides from the vhost's
 * config whether it cares. Observers are added once at start (src/main.ts).
 */
import type { SluiceConfig, VhostConfig } from "../conf/config.js";
import type { Amf0Object } from "../protocol/rtmp/amf0.js";
import type { Source } from "../stream/source.js";
import type { HookDecision } from "./http-hooks.js";
import type { HookClient, HookStream } from "./stream-hooks.js";

/** The publish an observer hears of. */
export interface PublishContext {
  /** Closes the publisher (e.g. hls_on_error disconnect), with a reason for the log. */
  close(reason: string): void;
  /**
   * Set when the publisher is this server's own pull of the stream from an origin (an
   * edge): HLS, DVR, forward and transcode follow it as any publish; the edge does not
   * push it back.
   */
  pulledFrom?: string;
  /** The publisher as the hooks name it, and its stream name and param. */
  client: HookClient;
  stream: HookStream;
}

/** The play an observer hears of: an edge pulls for it, and token_traverse checks it at the origin. */
export interface PlayContext {
  /** The player as the hooks name it (tcUrl, pageUrl, ip). */
  client: HookClient;
  /** Its stream name and param (`?token=...`). */
  stream: HookStream;
  /** An RTMP player's connect command object (a server's pull names itself there); none for HTTP players. */
  connect?: Amf0Object;
  /** Closes the player, with a reason for the log. */
  close(reason: string): void;
}

/** A client about to play or publish, for observers that may refuse it first (token_traverse). */
export interface Admission {
  kind: "play" | "publish";
  client: HookClient;
  stream: HookStream;
}

export interface StreamObserver {
  /**
   * Whether `who` may go on, decided before its play or publish starts (as a hook);
   * null when this observer has nothing to say about it.
   */
  admit?(vhost: VhostConfig, who: Admission): Promise<HookDecision> | null;
  /** A publish started on `source` (after it was accepted). */
  published?(source: Source, vhost: VhostConfig, ctx: PublishContext): void;
  /** The publisher of `source` left (after the Source was told); `vhost` is undefined when a reload removed it. */
  unpublished?(source: Source, vhost: VhostConfig | undefined): void;
  /**
   * A player (RTMP, HTTP-FLV, WS-FLV) started on `source`, which may have no publisher yet;
   * `play` tells who (every call site passes it; optional for observers' own tests).
   */
  playStarted?(source: Source, vhost: VhostConfig, play?: PlayContext): void;
  /** A player of `source` left. */
  playStopped?(source: Source, vhost: VhostConfig | undefined): void;
  /** A reload applied `config`. */
  reload?(config: SluiceConfig): void;
  /** The server stops: end children and connections; resolve when done. */
  stop?(): Promise<void> | void;
}
