/**
 * The client side of an RTMP connection, on the same native chunk codec and handshake as
 * the server: connect (tcUrl, app, pageUrl and the URL's query string), createStream,
 * publish or play, pause, acknowledgements, ping responses, Set Chunk Size both ways and
 * onStatus. Forwarders, edges and the CLI tools build on it; tests use it where ffmpeg and
 * rtmpdump cannot do what a test needs (pause, staying through UnpublishNotify).
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { SluiceError } from "../../core/errors.js";
import { createChunkDecoder, encodeChunks, type ChunkDecoder, type RawMessage } from "../../native/index.js";
import { decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from "./amf0.js";
import { acknowledgement, pingResponse, setChunkSize, userControl } from "./control-messages.js";
import { ClientHandshake } from "./handshake.js";
import { ChunkStreamId, MessageType, UserControlEvent } from "./message-types.js";

export interface RtmpUrl {
  host: string;
  port: number;
  /** App with its query string, as sent in connect. */
  app: string;
  stream: string;
  tcUrl: string;
}

/**
 * `rtmp://host[:port]/app[/more]/stream[?query]`, and SRS's `rtmp://host/app?vhost=v/stream`:
 * the stream is what follows the last `/`, the app (with its query) what precedes it.
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  const m = /^rtmp:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?\/(.+)$/i.exec(url);
  if (!m) throw new SluiceError("ERR_RTMP_COMMAND", `not an rtmp:// URL with an app and a stream: ${url}`);
  const host = m[1]!.replace(/^\[|\]$/g, "");
  const port = m[2] ? Number(m[2]) : 1935;
  const rest = m[3]!;
  const slash = rest.lastIndexOf("/");
  if (slash <= 0 || slash === rest.length - 1) throw new SluiceError("ERR_RTMP_COMMAND", `no stream name in ${url}`);
  const app = rest.slice(0, slash);
  const stream = rest.slice(slash + 1);
  return { host, port, app, stream, tcUrl: `rtmp://${m[1]}${m[2] ? ":" + m[2] : ""}/${app}` };
}

export interface RtmpClientOptions {
  pageUrl?: string;
  flashVer?: string;
  /** Our outgoing chunk size, announced after connect. */
  chunkSize?: number;
  complexHandshake?: boolean;
  maxMessageSize?: number;
}

interface Pending {
  resolve(values: Amf0Value[]): void;
  reject(err: Error): void;
}

export interface RtmpClientEvents {
  /** Audio, video and data messages of a played stream. */
  media: [msg: RawMessage];
  /** onStatus info objects, with the stream id they came on. */
  status: [info: Amf0Object, streamId: number];
  close: [err: SluiceError | undefined];
}

export class RtmpClient extends EventEmitter<RtmpClientEvents> {
  bytesIn = 0;
  private socket: net.Socket | undefined;
  private decoder: ChunkDecoder;
  private handshake: ClientHandshake;
  private handshaken = false;
  private txn = 1;
  private readonly pending = new Map<number, Pending>();
  private outChunkSize = 128;
  private peerWindow = 0;
  private lastAck = 0;
  private closed = false;

  constructor(
    readonly url: RtmpUrl,
    private readonly opts: RtmpClientOptions = {},
  ) {
    super();
    this.decoder = createChunkDecoder({ maxMessageSize: opts.maxMessageSize ?? 16 * 1024 * 1024, maxChunkStreams: 64 });
    this.handshake = new ClientHandshake({ complex: opts.complexHandshake ?? true });
  }

  /** The chunk size the server announced (Set Chunk Size), 128 before it did. */
  get serverChunkSize(): number {
    return this.decoder.chunkSize;
  }

  /** TCP connect, handshake and the connect command; resolves with the server's info object. */
  async connect(): Promise<Amf0Object> {
    const socket = net.connect({ host: this.url.host, port: this.url.port });
    this.socket = socket;
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (err) => this.finish(new SluiceError("ERR_RTMP_PEER_CLOSED", err.message, { cause: err })));
    socket.on("close", () => this.finish(undefined));
    const handshakeDone = new Promise<void>((resolve, reject) => {
      this.onHandshake = resolve;
      this.once("close", (err) => reject(err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", "closed during handshake")));
    });
    socket.write(this.handshake.start());
    await handshakeDone;
    const size = this.opts.chunkSize ?? 4096;
    this.write(setChunkSize(size));
    this.outChunkSize = size;
    const result = await this.call(0, "connect", {
      app: this.url.app,
      flashVer: this.opts.flashVer ?? "LNX 9,0,124,2",
      tcUrl: this.url.tcUrl,
      fpad: false,
      capabilities: 15,
      audioCodecs: 4071,
      videoCodecs: 252,
      videoFunction: 1,
      pageUrl: this.opts.pageUrl ?? "",
      objectEncoding: 0,
    });
    return (result[1] ?? {}) as Amf0Object;
  }

  async createStream(): Promise<number> {
    const r = await this.call(0, "createStream", null);
    if (typeof r[1] !== "number") throw new SluiceError("ERR_RTMP_COMMAND", "createStream answered without a stream id");
    return r[1];
  }

  /** Plays and resolves at NetStream.Play.Start; rejects on an error status. */
  async play(streamId: number, name = this.url.stream): Promise<void> {
    this.write(userControl(UserControlEvent.SetBufferLength, streamId, 3000));
    this.send(streamId, "play", 0, null, name, -2);
    await this.waitStatus(streamId, "NetStream.Play.Start");
  }

  /** Publishes and resolves at NetStream.Publish.Start; rejects on an error status. */
  async publish(streamId: number, name = this.url.stream, type = "live"): Promise<void> {
    this.send(0, "releaseStream", this.txn++, null, name);
    this.send(0, "FCPublish", this.txn++, null, name);
    this.send(streamId, "publish", 0, null, name, type);
    await this.waitStatus(streamId, "NetStream.Publish.Start");
  }

  pause(streamId: number, paused: boolean, positionMs = 0): void {
    this.send(streamId, "pause", 0, null, paused, positionMs);
  }

  /** receiveAudio / receiveVideo: ask the server to stop or resume sending a kind of media. */
  receive(streamId: number, kind: "audio" | "video", enabled: boolean): void {
    this.send(streamId, kind === "audio" ? "receiveAudio" : "receiveVideo", 0, null, enabled);
  }

  /** Sends a media or data message on a publishing stream. */
  sendMessage(streamId: number, type: number, timestamp: number, payload: Buffer): void {
    const csid = type === MessageType.Audio ? ChunkStreamId.Audio : type === MessageType.Video ? ChunkStreamId.Video : ChunkStreamId.Stream;
    this.write(encodeChunks(csid, type, streamId, timestamp % 0x100000000, payload, this.outChunkSize));
  }

  /** Resolves with the next onStatus whose code matches; rejects on an error-level status first. */
  waitStatus(streamId: number, code: string, timeoutMs = 10_000): Promise<Amf0Object> {
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
          reject(new SluiceError("ERR_RTMP_COMMAND", `${String(info["code"])}: ${String(info["description"])}`));
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

  close(): void {
    this.socket?.destroy();
    this.finish(undefined);
  }

  // ---- internals ---------------------------------------------------------------------

  private onHandshake: () => void = () => {};

  private write(b: Buffer): void {
    if (!this.closed) this.socket?.write(b);
  }

  private send(streamId: number, name: string, txn: number, ...args: Amf0Value[]): void {
    const csid = streamId === 0 ? ChunkStreamId.Command : ChunkStreamId.Stream;
    this.write(encodeChunks(csid, MessageType.CommandAmf0, streamId, 0, encodeAmf0(name, txn, ...args), this.outChunkSize));
  }

  private call(streamId: number, name: string, ...args: Amf0Value[]): Promise<Amf0Value[]> {
    const id = this.txn++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(streamId, name, id, ...args);
    });
  }

  private onData(data: Buffer): void {
    this.bytesIn += data.length;
    try {
      if (!this.handshaken) {
        const step = this.handshake.push(data);
        if (step.reply) this.socket!.write(step.reply);
        if (!step.done) return;
        this.handshaken = true;
        this.onHandshake();
        if (!step.rest || step.rest.length === 0) return;
        data = step.rest;
      }
      for (const msg of this.decoder.push(data)) this.dispatch(msg);
      if (this.peerWindow > 0 && this.bytesIn - this.lastAck >= this.peerWindow) {
        this.lastAck = this.bytesIn;
        this.write(acknowledgement(this.bytesIn));
      }
    } catch (err) {
      this.socket?.destroy();
      this.finish(err instanceof SluiceError ? err : SluiceError.wrap(err, "rtmp client", "ERR_RTMP_CHUNK_STREAM"));
    }
  }

  private dispatch(msg: RawMessage): void {
    switch (msg.type) {
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.Aggregate:
        this.emit("media", msg);
        return;
      case MessageType.CommandAmf0: {
        const v = decodeAmf0(msg.payload);
        const name = v[0];
        const txn = typeof v[1] === "number" ? v[1] : 0;
        if (name === "_result" || name === "_error") {
          const p = this.pending.get(txn);
          if (!p) return;
          this.pending.delete(txn);
          if (name === "_result") p.resolve(v.slice(2));
          else {
            const info = (v[3] ?? {}) as Amf0Object;
            p.reject(new SluiceError("ERR_RTMP_COMMAND", `${String(info["code"] ?? "_error")}: ${String(info["description"] ?? "")}`));
          }
        } else if (name === "onStatus") {
          this.emit("status", (v[3] ?? {}) as Amf0Object, msg.streamId);
        }
        return;
      }
      case MessageType.UserControl:
        if (msg.payload.length >= 6 && msg.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
          this.write(pingResponse(msg.payload.readUInt32BE(2)));
        }
        return;
      case MessageType.WindowAckSize:
        if (msg.payload.length >= 4) this.peerWindow = msg.payload.readUInt32BE(0);
        return;
      default:
        return;
    }
  }

  private finish(err: SluiceError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const e = err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", "connection closed");
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.emit("close", err);
  }
}
