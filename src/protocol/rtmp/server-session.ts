/**
 * The server side of one RTMP connection: handshake, chunk stream, protocol control
 * messages, acknowledgements, ping, and AMF0 commands turned into typed requests for the
 * application (RTMP spec 5-7; command flow as FMS, SRS and nginx-rtmp answer it). Policy
 * (which vhost, who may publish, where media goes) is the handler's: this class only speaks
 * the protocol and reports.
 */
import { nextClientId } from "../../core/ids.js";
import type { Socket } from "node:net";
import { SluiceError, errorCode } from "../../core/errors.js";
import { createChunkDecoder, encodeChunks, type ChunkDecoder, type RawMessage } from "../../native/index.js";
import { decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from "./amf0.js";
import {
  acknowledgement,
  pingResponse,
  setChunkSize,
  setPeerBandwidth,
  streamBegin,
  streamEof,
  windowAckSize,
} from "./control-messages.js";
import { ServerHandshake } from "./handshake.js";
import { ChunkStreamId, MessageType, PeerBandwidthLimit, UserControlEvent } from "./message-types.js";
import { splitAggregate } from "./aggregate.js";

export interface ConnectRequest {
  transactionId: number;
  app: string;
  tcUrl: string;
  pageUrl: string;
  swfUrl: string;
  flashVer: string;
  objectEncoding: number;
  /** The whole command object, for what the fields above do not cover. */
  commandObject: Amf0Object;
}

export interface PublishRequest {
  streamId: number;
  transactionId: number;
  /** The stream name as sent, query string included (`live?token=1` style params). */
  name: string;
  /** live, record or append. */
  type: string;
}

export interface PlayRequest {
  streamId: number;
  transactionId: number;
  name: string;
  start: number;
  duration: number;
  reset: boolean;
}

/** What the application does with a session's requests. Each is called at most once per request. */
export interface RtmpServerSessionHandler {
  onConnect(session: RtmpServerSession, req: ConnectRequest): void;
  onPublish(session: RtmpServerSession, req: PublishRequest): void;
  onPlay(session: RtmpServerSession, req: PlayRequest): void;
  onPause(session: RtmpServerSession, streamId: number, paused: boolean, positionMs: number): void;
  onReceive(session: RtmpServerSession, streamId: number, kind: "audio" | "video", enabled: boolean): void;
  /** Audio, video or data from a stream the application accepted a publish on. */
  onMedia(session: RtmpServerSession, streamId: number, type: number, timestamp: number, payload: Buffer): void;
  /** deleteStream, closeStream or FCUnpublish for a stream. */
  onStreamClosed(session: RtmpServerSession, streamId: number): void;
  /** The session is over; `err` says why when it was not an orderly close. Called once. */
  onClose(session: RtmpServerSession, err: SluiceError | undefined): void;
  /** Any other command after connect (e.g. the bandwidth check's answers): its name and the values after the transaction id. */
  onCommand?(session: RtmpServerSession, name: string, args: Amf0Value[]): void;
}

export interface RtmpServerSessionOptions {
  /** Largest message a peer may send. */
  maxMessageSize: number;
  /** Our outgoing chunk size (config `chunk_size`). */
  chunkSize: number;
  /** Window Acknowledgement Size and Set Peer Bandwidth we announce (SRS: 2.5 MB). */
  windowAckSize: number;
  /** Most stream ids a connection may create. */
  maxStreams: number;
}

export const defaultSessionOptions: RtmpServerSessionOptions = {
  maxMessageSize: 8 * 1024 * 1024,
  chunkSize: 60000,
  windowAckSize: 2_500_000,
  maxStreams: 16,
};

export type SessionState = "handshake" | "connect" | "connecting" | "connected" | "closed";

/** Commands that may arrive while the application decides on connect; more is abuse. */
const MAX_QUEUED_WHILE_CONNECTING = 64;

export class RtmpServerSession {
  readonly id = nextClientId();
  readonly peer: string;
  state: SessionState = "handshake";
  /** Bytes read from and written to the socket. */
  bytesIn = 0;
  bytesOut = 0;
  /** Monotonic ms of the last byte received; the server's sweep uses it for timeouts. */
  lastReadAt = performance.now();
  readonly startedAt = performance.now();
  /** Outgoing chunk size in force after connect. */
  outChunkSize = 128;
  /** Set once connect is accepted. */
  connect: ConnectRequest | undefined;
  /** The player's buffer length per stream id (User Control SetBufferLength), ms. */
  readonly bufferLength = new Map<number, number>();

  private readonly handshake = new ServerHandshake();
  private readonly decoder: ChunkDecoder;
  private readonly streams = new Set<number>();
  private readonly publishing = new Set<number>();
  private nextStreamId = 1;
  private peerWindow = 0;
  private lastAckAt = 0;
  private queued: RawMessage[] = [];

  constructor(
    readonly socket: Socket,
    private readonly handler: RtmpServerSessionHandler,
    private readonly opts: RtmpServerSessionOptions = defaultSessionOptions,
  ) {
    this.peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    this.decoder = createChunkDecoder({ maxMessageSize: opts.maxMessageSize, maxChunkStreams: 64 });
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.close(new SluiceError("ERR_RTMP_PEER_CLOSED", `socket error: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.on("close", () => this.close(undefined));
  }

  get ip(): string {
    return this.socket.remoteAddress ?? "";
  }

  /** Queues bytes on the socket in order with everything written before. */
  write(data: Buffer): void {
    if (this.state === "closed") return;
    this.bytesOut += data.length;
    this.socket.write(data);
  }

  // ---- answers the application gives -------------------------------------------------

  /**
   * Accepts the pending connect: window, bandwidth, chunk size (the vhost's `chunk_size`,
   * else the server's), then `_result` (as SRS).
   */
  acceptConnect(chunkSize = this.opts.chunkSize): void {
    const req = this.connect;
    if (!req || this.state !== "connecting") return;
    this.state = "connected";
    this.write(windowAckSize(this.opts.windowAckSize));
    this.write(setPeerBandwidth(this.opts.windowAckSize, PeerBandwidthLimit.Dynamic));
    this.write(setChunkSize(chunkSize));
    this.outChunkSize = chunkSize;
    this.sendCommand(
      0,
      "_result",
      req.transactionId,
      { fmsVer: "FMS/3,5,3,888", capabilities: 127, mode: 1 },
      {
        level: "status",
        code: "NetConnection.Connect.Success",
        description: "Connection succeeded",
        objectEncoding: req.objectEncoding,
      },
    );
    this.sendCommand(0, "onBWDone", 0, null);
    const queued = this.queued;
    this.queued = [];
    for (const msg of queued) {
      if (this.state !== "connected") break;
      this.dispatch(msg);
    }
  }

  /** Refuses the pending connect with `_error` and closes. */
  rejectConnect(code: string, description: string): void {
    const req = this.connect;
    if (!req || this.state !== "connecting") return;
    this.sendCommand(0, "_error", req.transactionId, null, { level: "error", code, description });
    this.end();
  }

  acceptPublish(streamId: number): void {
    this.publishing.add(streamId);
    this.sendOnStatus(streamId, "status", "NetStream.Publish.Start", "Started publishing stream.");
  }

  /** Refuses a publish (e.g. NetStream.Publish.BadName) and closes, as SRS does. */
  rejectPublish(streamId: number, code: string, description: string): void {
    this.sendOnStatus(streamId, "error", code, description);
    this.end();
  }

  /**
   * The play preamble: StreamBegin, Play.Reset, Play.Start, then |RtmpSampleAccess. SRS
   * also sends a data-message onStatus NetStream.Data.Start; ffmpeg's FLV reader turns that
   * into a spurious data stream, so we leave it out (Flash needs none of it).
   */
  acceptPlay(streamId: number): void {
    this.write(streamBegin(streamId));
    this.sendOnStatus(streamId, "status", "NetStream.Play.Reset", "Playing and resetting stream.");
    this.sendOnStatus(streamId, "status", "NetStream.Play.Start", "Started playing stream.");
    this.sendData(streamId, "|RtmpSampleAccess", false, false);
  }

  rejectPlay(streamId: number, code: string, description: string): void {
    this.sendOnStatus(streamId, "error", code, description);
    this.end();
  }

  sendOnStatus(streamId: number, level: string, code: string, description: string, extra?: Amf0Object): void {
    this.sendCommand(streamId, "onStatus", 0, null, { level, code, description, ...extra });
  }

  sendCommand(streamId: number, name: string, transactionId: number, ...args: Amf0Value[]): void {
    const payload = encodeAmf0(name, transactionId, ...args);
    const csid = streamId === 0 ? ChunkStreamId.Command : ChunkStreamId.Stream;
    this.write(encodeChunks(csid, MessageType.CommandAmf0, streamId, 0, payload, this.outChunkSize));
  }

  sendData(streamId: number, ...values: Amf0Value[]): void {
    const payload = encodeAmf0(...values);
    this.write(encodeChunks(ChunkStreamId.Stream, MessageType.DataAmf0, streamId, 0, payload, this.outChunkSize));
  }

  /** User Control StreamEOF, sent when a played stream ends. */
  sendStreamEof(streamId: number): void {
    this.write(streamEof(streamId));
  }

  /** Ends the connection after what is queued is sent; the peer sees an orderly close. */
  end(): void {
    if (this.state === "closed") return;
    this.socket.end();
    // A peer that never reads would keep an ended socket open; give it a few seconds.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.close(undefined);
  }

  /** Closes now. With `err`, the handler logs why (one line, naming the peer). */
  close(err: SluiceError | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.queued = [];
    if (err) this.socket.destroy();
    else if (!this.socket.destroyed && this.socket.writableEnded === false) this.socket.destroy();
    this.handler.onClose(this, err);
  }

  // ---- input -------------------------------------------------------------------------

  private onData(data: Buffer): void {
    if (this.state === "closed") return;
    this.bytesIn += data.length;
    this.lastReadAt = performance.now();
    try {
      if (this.state === "handshake") {
        const step = this.handshake.push(data);
        if (step.reply) this.write(step.reply);
        if (!step.done) return;
        this.state = "connect";
        if (!step.rest || step.rest.length === 0) return;
        data = step.rest;
      }
      const messages = this.decoder.push(data);
      for (let i = 0; i < messages.length; i++) {
        if ((this.state as SessionState) === "closed") return;
        this.dispatch(messages[i]!);
      }
      this.maybeAcknowledge();
    } catch (err) {
      this.close(err instanceof SluiceError ? err : SluiceError.wrap(err, "rtmp", errorCode(err) ?? "ERR_RTMP_CHUNK_STREAM"));
    }
  }

  private maybeAcknowledge(): void {
    // 5.4.3: acknowledge after each window of bytes the peer asked for.
    if (this.peerWindow > 0 && this.bytesIn - this.lastAckAt >= this.peerWindow) {
      this.lastAckAt = this.bytesIn;
      this.write(acknowledgement(this.bytesIn));
    }
  }

  private dispatch(msg: RawMessage): void {
    switch (msg.type) {
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
        // Media and data on a stream that is not publishing have nowhere to go: tolerated
        // and dropped (as SRS does).
        if (this.publishing.has(msg.streamId)) {
          this.handler.onMedia(this, msg.streamId, msg.type, msg.timestamp, msg.payload);
        }
        return;
      case MessageType.Aggregate:
        if (!this.publishing.has(msg.streamId)) return;
        for (const sub of splitAggregate(msg)) {
          this.handler.onMedia(this, msg.streamId, sub.type, sub.timestamp, sub.payload);
        }
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        return this.onCommandMessage(msg);
      case MessageType.UserControl:
        return this.onUserControl(msg.payload);
      case MessageType.WindowAckSize:
        if (msg.payload.length >= 4) this.peerWindow = msg.payload.readUInt32BE(0);
        return;
      default:
        // Set Chunk Size and Abort were applied by the decoder; Acknowledgement, Set Peer
        // Bandwidth and shared objects need nothing from a server that does not limit.
        return;
    }
  }

  private onUserControl(payload: Buffer): void {
    if (payload.length < 6) return;
    const event = payload.readUInt16BE(0);
    const value = payload.readUInt32BE(2);
    if (event === UserControlEvent.PingRequest) this.write(pingResponse(value));
    else if (event === UserControlEvent.SetBufferLength && payload.length >= 10) {
      this.bufferLength.set(value, payload.readUInt32BE(6));
    }
  }

  private onCommandMessage(msg: RawMessage): void {
    // AMF3 command messages (type 17) carry a format byte, then AMF0 (as Flash sends them).
    const body = msg.type === MessageType.CommandAmf3 ? msg.payload.subarray(1) : msg.payload;
    const values = decodeAmf0(body);
    const name = values[0];
    if (typeof name !== "string") {
      throw new SluiceError("ERR_RTMP_COMMAND", `command message without a name (first value is ${typeof name})`);
    }
    const txn = typeof values[1] === "number" ? values[1] : 0;
    if (this.state === "connecting") {
      if (this.queued.length >= MAX_QUEUED_WHILE_CONNECTING) {
        throw new SluiceError("ERR_RTMP_STATE", `more than ${MAX_QUEUED_WHILE_CONNECTING} commands before connect was answered`);
      }
      this.queued.push(msg);
      return;
    }
    if (name === "connect") return this.onConnect(txn, values[2]);
    if (this.state !== "connected") {
      throw new SluiceError("ERR_RTMP_STATE", `"${name}" before connect`);
    }
    switch (name) {
      case "createStream":
        return this.onCreateStream(txn);
      case "releaseStream":
      case "getStreamLength":
        this.sendCommand(0, "_result", txn, null, undefined);
        return;
      case "FCPublish":
        // FMLE waits for onFCPublish (as FMS, SRS and nginx-rtmp send it); others ignore it.
        this.sendCommand(0, "onFCPublish", 0, null, { code: "NetStream.Publish.Start", description: String(values[3] ?? "") });
        this.sendCommand(0, "_result", txn, null, undefined);
        return;
      case "FCUnpublish":
        this.sendCommand(0, "onFCUnpublish", 0, null, { code: "NetStream.Unpublish.Success", description: String(values[3] ?? "") });
        this.sendCommand(0, "_result", txn, null, undefined);
        return this.stopStreamNamed(msg.streamId);
      case "publish":
        return this.onPublish(msg.streamId, txn, values);
      case "play":
        return this.onPlay(msg.streamId, txn, values);
      case "pause":
        return this.onPause(msg.streamId, values);
      case "receiveAudio":
      case "receiveVideo":
        this.requireStream(msg.streamId, name);
        this.handler.onReceive(this, msg.streamId, name === "receiveAudio" ? "audio" : "video", values[3] !== false);
        return;
      case "deleteStream":
        return this.onDeleteStream(typeof values[3] === "number" ? values[3] : msg.streamId);
      case "closeStream":
        return this.onDeleteStream(msg.streamId);
      default:
        // _checkbw, _result/_error to our onBWDone, FCSubscribe, and commands we do not
        // know: the application's if it wants them (the bandwidth check), else ignored, as
        // SRS and nginx-rtmp do.
        this.handler.onCommand?.(this, name, values.slice(2));
        return;
    }
  }

  private onConnect(txn: number, obj: Amf0Value): void {
    if (this.state !== "connect") throw new SluiceError("ERR_RTMP_STATE", "connect sent twice");
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
      throw new SluiceError("ERR_RTMP_COMMAND", "connect without a command object");
    }
    const o = obj as Amf0Object;
    const str = (k: string): string => (typeof o[k] === "string" ? (o[k] as string) : "");
    const enc = typeof o["objectEncoding"] === "number" ? (o["objectEncoding"] as number) : 0;
    this.connect = {
      transactionId: txn,
      app: str("app"),
      tcUrl: str("tcUrl"),
      pageUrl: str("pageUrl"),
      swfUrl: str("swfUrl"),
      flashVer: str("flashVer"),
      objectEncoding: enc === 3 ? 3 : 0,
      commandObject: o,
    };
    this.state = "connecting";
    this.handler.onConnect(this, this.connect);
  }

  private onCreateStream(txn: number): void {
    if (this.streams.size >= this.opts.maxStreams) {
      throw new SluiceError("ERR_RTMP_STREAM_ID", `more than ${this.opts.maxStreams} streams on one connection`);
    }
    const id = this.nextStreamId++;
    this.streams.add(id);
    this.sendCommand(0, "_result", txn, null, id);
  }

  private requireStream(streamId: number, command: string): void {
    if (!this.streams.has(streamId)) {
      throw new SluiceError("ERR_RTMP_STREAM_ID", `"${command}" on stream id ${streamId}, which createStream did not make`);
    }
  }

  private onPublish(streamId: number, txn: number, values: Amf0Value[]): void {
    this.requireStream(streamId, "publish");
    const name = values[3];
    if (typeof name !== "string" || name === "") {
      throw new SluiceError("ERR_RTMP_COMMAND", "publish without a stream name");
    }
    if (this.publishing.has(streamId)) throw new SluiceError("ERR_RTMP_STATE", `publish twice on stream id ${streamId}`);
    const type = typeof values[4] === "string" ? values[4] : "live";
    this.handler.onPublish(this, { streamId, transactionId: txn, name, type });
  }

  private onPlay(streamId: number, txn: number, values: Amf0Value[]): void {
    this.requireStream(streamId, "play");
    const name = values[3];
    if (typeof name !== "string" || name === "") throw new SluiceError("ERR_RTMP_COMMAND", "play without a stream name");
    const start = typeof values[4] === "number" ? values[4] : -2;
    const duration = typeof values[5] === "number" ? values[5] : -1;
    const reset = values[6] !== false;
    this.handler.onPlay(this, { streamId, transactionId: txn, name, start, duration, reset });
  }

  private onPause(streamId: number, values: Amf0Value[]): void {
    this.requireStream(streamId, "pause");
    const paused = values[3] !== false;
    const position = typeof values[4] === "number" ? values[4] : 0;
    this.handler.onPause(this, streamId, paused, position);
  }

  private stopStreamNamed(streamId: number): void {
    // FCUnpublish arrives on stream 0 naming the stream; a connection publishes at most a
    // few streams, so stop every publishing one when the id is not a publishing stream.
    const ids = this.publishing.has(streamId) ? [streamId] : [...this.publishing];
    for (const id of ids) {
      this.publishing.delete(id);
      this.handler.onStreamClosed(this, id);
    }
  }

  private onDeleteStream(streamId: number): void {
    if (!this.streams.has(streamId)) return;
    this.streams.delete(streamId);
    this.publishing.delete(streamId);
    this.handler.onStreamClosed(this, streamId);
  }
}
