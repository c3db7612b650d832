/**
 * The client side of an RTMP connection, on the same native chunk codec and handshake as
 * the server: connect (tcUrl, app, pageUrl and the URL's query string), createStream,
 * publish or play, pause, FCUnpublish/deleteStream, acknowledgements both ways, ping
 * responses, Set Chunk Size both ways, onStatus and the stream events (StreamBegin,
 * StreamEOF). Forwarders, edges and the CLI tools (sluice-play, sluice-publish) build on
 * it; it is public API (`import { RtmpClient } from "sluice"`, see docs/client.md); tests
 * use it where ffmpeg and rtmpdump cannot do what a test needs (pause, staying through
 * UnpublishNotify).
 *
 * Errors are `SluiceError`s: ERR_RTMP_PEER_CLOSED (cannot connect, reset, closed),
 * ERR_RTMP_TIMEOUT (no answer in time), ERR_RTMP_COMMAND (the server refused: `_error`, an
 * error-level onStatus, or a bad URL), and the handshake and chunk stream codes.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { SluiceError } from "../../core/errors.js";
import { createChunkDecoder, encodeChunks, type ChunkDecoder, type RawMessage } from "../../native/index.js";
import { decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from "./amf0.js";
import { acknowledgement, pingResponse, setChunkSize, userControl, windowAckSize } from "./control-messages.js";
import { ClientHandshake } from "./handshake.js";
import { ChunkStreamId, MessageType, UserControlEvent } from "./message-types.js";

export interface RtmpUrl {
  host: string;
  port: number;
  /** App with its query string, as sent in connect. */
  app: string;
  /** Stream name with its query string (`stream?token=1`), as sent in publish and play. */
  stream: string;
  /** `rtmp://host[:port]/app[?query]`, as sent in connect. */
  tcUrl: string;
  /** The URL's query string without the `?` (the stream's, else the app's), or "". */
  query: string;
}

/**
 * `rtmp://host[:port]/app[/more]/stream[?query]`, and SRS's `rtmp://host/app?vhost=v/stream`:
 * the stream is what follows the last `/`, the app (with its query) what precedes it. The
 * query strings stay where they were written: a stream's on the stream name (the server's
 * hooks and `security` see `token=...`), an app's on the app and the tcUrl, as ffmpeg and
 * SRS's own client send them.
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  const m = /^rtmp:\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?\/(.+)$/i.exec(url);
  if (!m) throw new SluiceError("ERR_RTMP_COMMAND", `not an rtmp:// URL with an app and a stream: ${url}`);
  const host = m[1]!.replace(/^\[|\]$/g, "");
  const port = m[2] ? Number(m[2]) : 1935;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SluiceError("ERR_RTMP_COMMAND", `bad port in ${url}`);
  const rest = m[3]!;
  // The stream is after the last `/` that precedes its query (`live/s?next=/x` keeps
  // `?next=/x` whole); when no `/` precedes the first `?`, the query is the app's, SRS's
  // `app?vhost=v/stream` form, and the stream is after the last `/`.
  const firstQuery = rest.indexOf("?");
  const beforeQuery = firstQuery < 0 ? rest : rest.slice(0, firstQuery);
  const slash = beforeQuery.includes("/") ? beforeQuery.lastIndexOf("/") : rest.lastIndexOf("/");
  const app = rest.slice(0, Math.max(0, slash));
  const stream = rest.slice(slash + 1);
  if (slash <= 0 || stream.length === 0 || stream.startsWith("?")) {
    throw new SluiceError("ERR_RTMP_COMMAND", `no ${slash <= 0 ? "app or " : ""}stream name in ${url}`);
  }
  const queryOf = (s: string): string => (s.includes("?") ? s.slice(s.indexOf("?") + 1) : "");
  const query = queryOf(stream) || queryOf(app);
  return { host, port, app, stream, tcUrl: `rtmp://${m[1]}${m[2] ? ":" + m[2] : ""}/${app}`, query };
}

export interface RtmpClientOptions {
  /** connect's pageUrl: the web page the player was on (default ""). */
  pageUrl?: string;
  /** connect's swfUrl (default "": no SWF). */
  swfUrl?: string;
  /** connect's flashVer (default "LNX 9,0,124,2", as ffmpeg sends). */
  flashVer?: string;
  /** Our outgoing chunk size, announced (Set Chunk Size) before connect; default 4096. */
  chunkSize?: number;
  /** Offer the complex handshake (digest scheme 1, as Flash Player and ffmpeg); default true. */
  complexHandshake?: boolean;
  /** A message larger than this from the server is an error, never an allocation; default 16 MiB. */
  maxMessageSize?: number;
  /** Bound on each step: TCP connect + handshake + connect's answer, createStream, publish/play; default 10 s. */
  timeoutMs?: number;
  /** The Window Acknowledgement Size we ask of the server when it sets our peer bandwidth; default 2.5 MB. */
  windowAckSize?: number;
  /**
   * More properties of connect's command object (after the standard ones, which they may not
   * replace). Forwarders and edges put their server id and hop list here (see
   * outputs/forward/upstream-identity.ts), where the receiving server reads them.
   */
  connectProperties?: Amf0Object;
  /**
   * connect's optional user arguments, an object after the command object (RTMP spec
   * 7.2.1.1). SRS's edges and forwarders send their identity there (srs_server, srs_pid,
   * srs_id); default none.
   */
  connectArgs?: Amf0Object;
}

interface Pending {
  /** The command waiting for its answer, for the error when none comes. */
  name: string;
  resolve(values: Amf0Value[]): void;
  reject(err: Error): void;
}

export interface RtmpClientEvents {
  /** Audio, video and data messages of a played stream (aggregates as they came, type 22). */
  media: [msg: RawMessage];
  /** onStatus info objects, with the stream id they came on. */
  status: [info: Amf0Object, streamId: number];
  /** Any other command from the server (e.g. the bandwidth check's onSrsBandCheck*), after its name and transaction id. */
  command: [name: string, args: Amf0Value[], streamId: number];
  /** User Control StreamBegin: the server starts sending a stream (RTMP spec 7.1.7). */
  streamBegin: [streamId: number];
  /** User Control StreamEOF: the played stream is over. */
  streamEof: [streamId: number];
  /** The socket closed: `err` undefined when we closed it or the server ended it in order. */
  close: [err: SluiceError | undefined];
}

const STATUS_TIMEOUT_MS = 10_000;

export class RtmpClient extends EventEmitter<RtmpClientEvents> {
  /** Bytes read from the socket, handshake included (what acknowledgements count). */
  bytesIn = 0;
  /** Bytes written to the socket, handshake included. */
  bytesOut = 0;
  /** The last Acknowledgement's sequence number from the server: how much of ours it has read. */
  bytesAcked = 0;
  private socket: net.Socket | undefined;
  private decoder: ChunkDecoder;
  private handshake: ClientHandshake;
  private handshaken = false;
  private txn = 1;
  private readonly pending = new Map<number, Pending>();
  private outChunkSize: number;
  /** The server's Window Acknowledgement Size: we acknowledge each time this many bytes came. */
  private peerWindow = 0;
  private lastAck = 0;
  /** The window we last announced with Window Acknowledgement Size (0: none yet). */
  private announcedWindow = 0;
  private closed = false;
  private readonly timeoutMs: number;

  constructor(
    readonly url: RtmpUrl,
    private readonly opts: RtmpClientOptions = {},
  ) {
    super();
    const size = opts.chunkSize ?? 4096;
    // RTMP spec 5.4.1: 1..2^31-1; no server needs more than a message's worth (16 MiB).
    if (!Number.isInteger(size) || size < 1 || size > 0xffffff) {
      throw new SluiceError("ERR_RTMP_CHUNK_SIZE", `chunk size ${size} is not an integer in 1..${0xffffff}`);
    }
    this.outChunkSize = size;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.decoder = createChunkDecoder({ maxMessageSize: opts.maxMessageSize ?? 16 * 1024 * 1024, maxChunkStreams: 64 });
    this.handshake = new ClientHandshake({ complex: opts.complexHandshake ?? true });
  }

  /** The chunk size the server announced (Set Chunk Size), 128 before it did. */
  get serverChunkSize(): number {
    return this.decoder.chunkSize;
  }

  /** Our outgoing chunk size, in force from the start of connect. */
  get chunkSize(): number {
    return this.outChunkSize;
  }

  /**
   * How the server answered the handshake: -1 simple (or not yet), 0 or 1 complex with that
   * digest scheme (its S1 carried a valid FMS digest).
   */
  get handshakeScheme(): number {
    return this.handshake.serverScheme;
  }

  /** Bytes handed to the socket that it has not written yet (a publisher's backlog). */
  get bufferedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * TCP connect, handshake, Set Chunk Size and the connect command; resolves with the
   * server's info object (`code` NetConnection.Connect.Success). Rejects with
   * ERR_RTMP_PEER_CLOSED when the server cannot be reached or hangs up, ERR_RTMP_COMMAND
   * when it answers `_error` (the message holds its code and description), ERR_RTMP_TIMEOUT
   * when it takes longer than `timeoutMs` in all.
   */
  async connect(): Promise<Amf0Object> {
    if (this.socket) throw new SluiceError("ERR_RTMP_STATE", "connect called twice");
    const where = `${this.url.host}:${this.url.port}`;
    return this.bounded(`connect to ${where}`, async () => {
      const socket = net.connect({ host: this.url.host, port: this.url.port });
      this.socket = socket;
      socket.setNoDelay(true);
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          const e = new SluiceError("ERR_RTMP_PEER_CLOSED", `cannot connect to ${where}: ${err.code ?? err.message}`, { cause: err });
          this.finish(e);
          reject(e);
        };
        // close() before the TCP connection is up: no error comes, only the close.
        const onClosed = () => reject(new SluiceError("ERR_RTMP_PEER_CLOSED", `connect to ${where}: closed before the connection was up`));
        socket.once("error", onError);
        socket.once("close", onClosed);
        socket.once("connect", () => {
          socket.off("error", onError);
          socket.off("close", onClosed);
          resolve();
        });
      });
      socket.on("data", (d: Buffer) => this.onData(d));
      socket.on("error", (err) => this.finish(new SluiceError("ERR_RTMP_PEER_CLOSED", `${where}: ${err.message}`, { cause: err })));
      socket.on("close", () => this.finish(undefined));
      await new Promise<void>((resolve, reject) => {
        const onClose = (err: SluiceError | undefined) =>
          reject(err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", `${where} closed the connection during the handshake`));
        this.once("close", onClose);
        this.onHandshake = () => {
          this.off("close", onClose);
          resolve();
        };
        this.write(this.handshake.start());
      });
      // Set Chunk Size first, so that connect itself goes in big chunks (as ffmpeg does).
      this.write(setChunkSize(this.outChunkSize));
      const command: Amf0Object = {
        app: this.url.app,
        flashVer: this.opts.flashVer ?? "LNX 9,0,124,2",
        swfUrl: this.opts.swfUrl ?? "",
        tcUrl: this.url.tcUrl,
        fpad: false,
        capabilities: 15,
        audioCodecs: 4071,
        videoCodecs: 252,
        videoFunction: 1,
        pageUrl: this.opts.pageUrl ?? "",
        objectEncoding: 0,
      };
      if (!this.opts.swfUrl) delete command["swfUrl"];
      for (const [k, v] of Object.entries(this.opts.connectProperties ?? {})) if (!Object.hasOwn(command, k)) command[k] = v;
      const result = this.opts.connectArgs
        ? await this.call(0, "connect", command, this.opts.connectArgs)
        : await this.call(0, "connect", command);
      return (result[1] ?? {}) as Amf0Object;
    });
  }

  /** createStream; resolves with the new message stream id. */
  async createStream(): Promise<number> {
    const r = await this.bounded("createStream", () => this.call(0, "createStream", null));
    if (typeof r[1] !== "number") throw new SluiceError("ERR_RTMP_COMMAND", "createStream answered without a stream id");
    return r[1];
  }

  /**
   * Plays (start -2: live, else recorded, as Flash does) and resolves at
   * NetStream.Play.Start; rejects on an error-level status first (the message holds its
   * code, e.g. NetStream.Play.Rejected).
   */
  async play(streamId: number, name = this.url.stream): Promise<void> {
    this.write(userControl(UserControlEvent.SetBufferLength, streamId, 3000));
    const started = this.waitStatus(streamId, "NetStream.Play.Start", this.timeoutMs);
    this.send(streamId, "play", 0, null, name, -2);
    await started;
  }

  /**
   * releaseStream, FCPublish and publish, as ffmpeg and OBS send them; resolves at
   * NetStream.Publish.Start, rejects on an error-level status (NetStream.Publish.BadName...).
   */
  async publish(streamId: number, name = this.url.stream, type = "live"): Promise<void> {
    const started = this.waitStatus(streamId, "NetStream.Publish.Start", this.timeoutMs);
    this.send(0, "releaseStream", this.txn++, null, name);
    this.send(0, "FCPublish", this.txn++, null, name);
    this.send(streamId, "publish", 0, null, name, type);
    await started;
  }

  /** FCUnpublish and deleteStream: ends a publish the way ffmpeg and OBS do. */
  unpublish(streamId: number, name = this.url.stream): void {
    this.send(0, "FCUnpublish", this.txn++, null, name);
    this.deleteStream(streamId);
  }

  deleteStream(streamId: number): void {
    this.send(0, "deleteStream", this.txn++, null, streamId);
  }

  pause(streamId: number, paused: boolean, positionMs = 0): void {
    this.send(streamId, "pause", 0, null, paused, positionMs);
  }

  /** receiveAudio / receiveVideo: ask the server to stop or resume sending a kind of media. */
  receive(streamId: number, kind: "audio" | "video", enabled: boolean): void {
    this.send(streamId, kind === "audio" ? "receiveAudio" : "receiveVideo", 0, null, enabled);
  }

  /**
   * Sends a media or data message on a publishing stream; the timestamp is taken modulo
   * 2^32, as RTMP carries it. Returns false when the socket's buffer is full (see drain()).
   */
  sendMessage(streamId: number, type: number, timestamp: number, payload: Buffer): boolean {
    const csid = type === MessageType.Audio ? ChunkStreamId.Audio : type === MessageType.Video ? ChunkStreamId.Video : ChunkStreamId.Stream;
    return this.write(encodeChunks(csid, type, streamId, timestamp % 0x100000000, payload, this.outChunkSize));
  }

  /** `@setDataFrame onMetaData {...}`: the stream's metadata as a publisher sends it. */
  sendMetadata(streamId: number, metadata: Amf0Value, timestamp = 0): boolean {
    return this.sendMessage(streamId, MessageType.DataAmf0, timestamp, encodeAmf0("@setDataFrame", "onMetaData", metadata));
  }

  /** Resolves once the socket's buffer has room again (at once when it has now, or when closed). */
  drain(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closed || !socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        this.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      this.on("close", done);
    });
  }

  /** Resolves with the next onStatus whose code matches; rejects on an error-level status first. */
  waitStatus(streamId: number, code: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<Amf0Object> {
    if (this.closed) return Promise.reject(new SluiceError("ERR_RTMP_PEER_CLOSED", `closed before ${code}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new SluiceError("ERR_RTMP_TIMEOUT", `no ${code} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onStatus = (info: Amf0Object, id: number) => {
        if (id !== streamId && id !== 0) return;
        if (info["code"] === code) {
          cleanup();
          resolve(info);
        } else if (info["level"] === "error") {
          cleanup();
          reject(new SluiceError("ERR_RTMP_COMMAND", `${String(info["code"])}: ${String(info["description"] ?? "")}`));
        }
      };
      const onClose = (err: SluiceError | undefined) => {
        cleanup();
        reject(err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", `closed while waiting for ${code}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off("status", onStatus);
        this.off("close", onClose);
      };
      this.on("status", onStatus);
      this.on("close", onClose);
    });
  }

  /**
   * Ends the connection in order: what is queued is written, then FIN. Resolves when the
   * socket has closed (the server closes its side in return, or after `timeoutMs`).
   */
  end(timeoutMs = 3000): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      this.finish(undefined);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  /** Closes now; queued bytes may be lost (use end() after a publish). */
  close(): void {
    this.socket?.destroy();
    this.finish(undefined);
  }

  // ---- internals ---------------------------------------------------------------------

  private onHandshake: () => void = () => {};

  /** Runs `step`, failing it with ERR_RTMP_TIMEOUT (and closing) past `timeoutMs`. */
  private bounded<T>(what: string, step: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new SluiceError("ERR_RTMP_TIMEOUT", `${what}: no answer within ${this.timeoutMs} ms`);
        // The close event carries the reason too, for whoever listens there rather than here.
        this.socket?.destroy();
        this.finish(err);
        reject(err);
      }, this.timeoutMs);
      step().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private write(b: Buffer): boolean {
    if (this.closed || !this.socket) return false;
    this.bytesOut += b.length;
    return this.socket.write(b);
  }

  /** Sends command `name` on the connection (stream 0) with transaction id 0: a call that wants no answer. */
  sendCommand(name: string, ...args: Amf0Value[]): void {
    this.send(0, name, 0, ...args);
  }

  private send(streamId: number, name: string, txn: number, ...args: Amf0Value[]): void {
    const csid = streamId === 0 ? ChunkStreamId.Command : ChunkStreamId.Stream;
    this.write(encodeChunks(csid, MessageType.CommandAmf0, streamId, 0, encodeAmf0(name, txn, ...args), this.outChunkSize));
  }

  private call(streamId: number, name: string, ...args: Amf0Value[]): Promise<Amf0Value[]> {
    if (this.closed) return Promise.reject(new SluiceError("ERR_RTMP_PEER_CLOSED", `closed before ${name}`));
    const id = this.txn++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { name, resolve, reject });
      this.send(streamId, name, id, ...args);
    });
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.bytesIn += data.length;
    try {
      if (!this.handshaken) {
        const step = this.handshake.push(data);
        if (step.reply) this.write(step.reply);
        if (!step.done) return;
        this.handshaken = true;
        this.onHandshake();
        if (!step.rest || step.rest.length === 0) return;
        data = step.rest;
      }
      for (const msg of this.decoder.push(data)) {
        if (this.closed) return;
        this.dispatch(msg);
      }
      // RTMP spec 5.4.3: acknowledge each time a window's worth has come since the last one.
      if (this.peerWindow > 0 && this.bytesIn - this.lastAck >= this.peerWindow) {
        this.lastAck = this.bytesIn;
        this.write(acknowledgement(this.bytesIn));
      }
    } catch (err) {
      this.socket?.destroy();
      this.finish(err instanceof SluiceError ? err : SluiceError.wrap(err, `rtmp client ${this.url.host}:${this.url.port}`, "ERR_RTMP_CHUNK_STREAM"));
    }
  }

  private dispatch(msg: RawMessage): void {
    switch (msg.type) {
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
      case MessageType.Aggregate:
        this.emit("media", msg);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        // An AMF3 command is an AMF0 one after a format byte (RTMP spec 7.1.1).
        this.onCommand(msg, msg.type === MessageType.CommandAmf3 ? 1 : 0);
        return;
      case MessageType.UserControl:
        this.onUserControl(msg.payload);
        return;
      case MessageType.WindowAckSize:
        if (msg.payload.length >= 4) this.peerWindow = msg.payload.readUInt32BE(0);
        return;
      case MessageType.SetPeerBandwidth:
        // RTMP spec 5.4.5: answer with our Window Acknowledgement Size when it differs from
        // the one we last sent, so that the server acknowledges what we publish.
        if (msg.payload.length >= 4) {
          const size = this.opts.windowAckSize ?? msg.payload.readUInt32BE(0);
          if (size !== this.announcedWindow) {
            this.announcedWindow = size;
            this.write(windowAckSize(size));
          }
        }
        return;
      case MessageType.Acknowledgement:
        if (msg.payload.length >= 4) this.bytesAcked = msg.payload.readUInt32BE(0);
        return;
      default:
        // Set Chunk Size and Abort are applied by the decoder; shared objects are not ours.
        return;
    }
  }

  private onCommand(msg: RawMessage, offset: number): void {
    const v = decodeAmf0(msg.payload, offset);
    const name = v[0];
    const txn = typeof v[1] === "number" ? v[1] : 0;
    if (name === "_result" || name === "_error") {
      const p = this.pending.get(txn);
      if (!p) return;
      this.pending.delete(txn);
      if (name === "_result") p.resolve(v.slice(2));
      else {
        const info = (v[3] ?? {}) as Amf0Object;
        const code = typeof info === "object" && info !== null ? info["code"] : undefined;
        const description = typeof info === "object" && info !== null ? info["description"] : undefined;
        p.reject(new SluiceError("ERR_RTMP_COMMAND", `${String(code ?? "_error")}: ${String(description ?? "")}`));
      }
    } else if (name === "onStatus") {
      const info = v[3];
      this.emit("status", (typeof info === "object" && info !== null ? info : {}) as Amf0Object, msg.streamId);
    } else if (typeof name === "string") {
      // onBWDone, onFCPublish, onSrsBandCheck*...: for whoever listens.
      this.emit("command", name, v.slice(2), msg.streamId);
    }
  }

  private onUserControl(p: Buffer): void {
    if (p.length < 6) return;
    const event = p.readUInt16BE(0);
    const value = p.readUInt32BE(2);
    if (event === UserControlEvent.PingRequest) this.write(pingResponse(value));
    else if (event === UserControlEvent.StreamBegin) this.emit("streamBegin", value);
    else if (event === UserControlEvent.StreamEof) this.emit("streamEof", value);
  }

  private finish(err: SluiceError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const where = `${this.url.host}:${this.url.port}`;
    for (const p of this.pending.values()) {
      p.reject(err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", `${where} closed the connection before answering ${p.name}`));
    }
    this.pending.clear();
    this.emit("close", err);
  }
}
