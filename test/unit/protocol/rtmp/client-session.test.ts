/**
 * RtmpClient against a scripted server on a loopback socket: the server side is our own
 * handshake and chunk codec, driven by hand, so each test says exactly what the server
 * sends and checks exactly what the client answers.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createChunkDecoder, encodeChunks, type RawMessage } from "../../../../src/native/index.js";
import { Amf0EcmaArray, decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from "../../../../src/protocol/rtmp/amf0.js";
import { RtmpClient, parseRtmpUrl, type RtmpClientOptions } from "../../../../src/protocol/rtmp/client-session.js";
import {
  acknowledgement,
  pingRequest,
  setChunkSize,
  setPeerBandwidth,
  streamBegin,
  streamEof,
  windowAckSize,
} from "../../../../src/protocol/rtmp/control-messages.js";
import { ServerHandshake } from "../../../../src/protocol/rtmp/handshake.js";
import { MessageType, UserControlEvent } from "../../../../src/protocol/rtmp/message-types.js";
import { errorCode } from "../../../../src/core/errors.js";

interface Command {
  name: string;
  txn: number;
  args: Amf0Value[];
  streamId: number;
}

/** One accepted connection, seen from the server side. */
class Peer {
  readonly messages: RawMessage[] = [];
  scheme = -2;
  private readonly handshake = new ServerHandshake();
  private readonly decoder = createChunkDecoder({ maxMessageSize: 1 << 24, maxChunkStreams: 64 });
  private waiters: Array<() => void> = [];
  outChunkSize = 128;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => {});
  }

  get commands(): Command[] {
    return this.messages
      .filter((m) => m.type === MessageType.CommandAmf0)
      .map((m) => {
        const v = decodeAmf0(m.payload);
        return { name: String(v[0]), txn: Number(v[1]), args: v.slice(2), streamId: m.streamId };
      });
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  command(streamId: number, name: string, txn: number, ...args: Amf0Value[]): void {
    this.write(encodeChunks(streamId === 0 ? 3 : 5, MessageType.CommandAmf0, streamId, 0, encodeAmf0(name, txn, ...args), this.outChunkSize));
  }

  onStatus(streamId: number, level: string, code: string, description = ""): void {
    this.command(streamId, "onStatus", 0, null, { level, code, description });
  }

  /** Resolves with the first message (already in or to come) that `pred` accepts. */
  async waitFor(pred: (m: RawMessage) => boolean, what = "a message"): Promise<RawMessage> {
    const end = Date.now() + 3000;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`the server got no ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async waitForCommand(name: string): Promise<Command> {
    await this.waitFor((m) => m.type === MessageType.CommandAmf0 && decodeAmf0(m.payload)[0] === name, name);
    return this.commands.find((c) => c.name === name)!;
  }

  private onData(data: Buffer): void {
    if (!this.handshake.done) {
      const step = this.handshake.push(data);
      if (step.reply) this.socket.write(step.reply);
      this.scheme = this.handshake.scheme;
      if (!step.done || !step.rest) return;
      data = step.rest;
    }
    this.messages.push(...this.decoder.push(data));
    for (const w of this.waiters.splice(0)) w();
  }
}

interface FakeServer {
  port: number;
  /** Resolves with the next connection's Peer. */
  accepted: Promise<Peer>;
  close(): void;
}

const servers: net.Server[] = [];
const clients: RtmpClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.close();
});

async function fakeServer(onPeer?: (peer: Peer) => void): Promise<FakeServer> {
  let resolve!: (p: Peer) => void;
  const accepted = new Promise<Peer>((r) => (resolve = r));
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const peer = new Peer(socket);
    onPeer?.(peer);
    resolve(peer);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function client(url: string, opts?: RtmpClientOptions): RtmpClient {
  const c = new RtmpClient(parseRtmpUrl(url), opts);
  clients.push(c);
  return c;
}

/** Answers connect the way SRS and nginx-rtmp do: window, bandwidth, chunk size, _result. */
async function acceptConnect(peer: Peer, chunkSize = 4096): Promise<Command> {
  const connect = await peer.waitForCommand("connect");
  peer.write(windowAckSize(2_500_000));
  peer.write(setPeerBandwidth(2_500_000, 2));
  peer.write(setChunkSize(chunkSize));
  peer.outChunkSize = chunkSize;
  peer.command(0, "_result", connect.txn, { fmsVer: "FMS/3,0,1,123" }, { level: "status", code: "NetConnection.Connect.Success" });
  return connect;
}

async function connected(url: string, opts?: RtmpClientOptions): Promise<{ c: RtmpClient; peer: Peer; connect: Command }> {
  const server = await fakeServer();
  const c = client(url.replace("{port}", String(server.port)), opts);
  const done = c.connect();
  const peer = await server.accepted;
  const connect = await acceptConnect(peer);
  await done;
  return { c, peer, connect };
}

describe("parseRtmpUrl", () => {
  it.each([
    ["rtmp://h/live/s", { host: "h", port: 1935, app: "live", stream: "s", tcUrl: "rtmp://h/live", query: "" }],
    ["rtmp://h:19350/live/s?token=a&x=1", { port: 19350, app: "live", stream: "s?token=a&x=1", tcUrl: "rtmp://h:19350/live", query: "token=a&x=1" }],
    ["rtmp://h/live/s?next=/a/b", { app: "live", stream: "s?next=/a/b", query: "next=/a/b" }],
    ["rtmp://h/app?vhost=v.com/s", { app: "app?vhost=v.com", stream: "s", tcUrl: "rtmp://h/app?vhost=v.com", query: "vhost=v.com" }],
    ["rtmp://h/a/b/s", { app: "a/b", stream: "s" }],
    ["rtmp://[::1]:1936/live/s", { host: "::1", port: 1936, tcUrl: "rtmp://[::1]:1936/live" }],
  ])("%s", (url, want) => {
    expect(parseRtmpUrl(url)).toMatchObject(want);
  });

  it.each(["http://h/live/s", "rtmp://h/live", "rtmp://h/live/", "rtmp://h/live/?x=1", "rtmp://h:99999/live/s", "rtmp:///live/s"])(
    "refuses %s with ERR_RTMP_COMMAND",
    (url) => {
      expect(() => parseRtmpUrl(url)).toThrow(expect.objectContaining({ code: "ERR_RTMP_COMMAND" }));
    },
  );
});

describe("RtmpClient connect", () => {
  it("announces its chunk size, then connects with app, tcUrl, pageUrl and the app's query", async () => {
    const { c, peer, connect } = await connected("rtmp://127.0.0.1:{port}/live?vhost=v.com/cam?token=1", {
      pageUrl: "http://example.com/page.html",
      chunkSize: 8192,
    });
    const first = peer.messages[0]!;
    expect(first.type).toBe(MessageType.SetChunkSize);
    expect(first.payload.readUInt32BE(0)).toBe(8192);
    expect(connect.txn).toBe(1);
    const obj = connect.args[0] as Amf0Object;
    expect(obj["app"]).toBe("live?vhost=v.com");
    expect(obj["tcUrl"]).toBe(`rtmp://127.0.0.1:${c.url.port}/live?vhost=v.com`);
    expect(obj["pageUrl"]).toBe("http://example.com/page.html");
    expect(obj["flashVer"]).toBe("LNX 9,0,124,2");
    expect(obj["objectEncoding"]).toBe(0);
    expect(c.serverChunkSize).toBe(4096);
    expect(c.chunkSize).toBe(8192);
  });

  it("sends the stream's query string with play", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/cam?token=abc");
    const created = c.createStream();
    const cs = await peer.waitForCommand("createStream");
    peer.command(0, "_result", cs.txn, null, 1);
    const id = await created;
    expect(id).toBe(1);
    const playing = c.play(id);
    const play = await peer.waitForCommand("play");
    expect(play.streamId).toBe(1);
    expect(play.args).toEqual([null, "cam?token=abc", -2]);
    const buffer = await peer.waitFor((m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === UserControlEvent.SetBufferLength);
    expect(buffer.payload.readUInt32BE(2)).toBe(1);
    peer.onStatus(1, "status", "NetStream.Play.Reset");
    peer.onStatus(1, "status", "NetStream.Play.Start");
    await playing;
  });

  it("offers the complex handshake by default and the simple one when asked", async () => {
    const complex = await connected("rtmp://127.0.0.1:{port}/live/s");
    expect(complex.peer.scheme).toBeGreaterThanOrEqual(0);
    expect(complex.c.handshakeScheme).toBeGreaterThanOrEqual(0);
    const simple = await connected("rtmp://127.0.0.1:{port}/live/s", { complexHandshake: false });
    expect(simple.peer.scheme).toBe(-1);
    expect(simple.c.handshakeScheme).toBe(-1);
  });

  it("rejects with ERR_RTMP_COMMAND and the server's code when connect is answered _error", async () => {
    const server = await fakeServer();
    const c = client(`rtmp://127.0.0.1:${server.port}/live/s`);
    const done = c.connect();
    const peer = await server.accepted;
    const connect = await peer.waitForCommand("connect");
    peer.command(0, "_error", connect.txn, null, { level: "error", code: "NetConnection.Connect.Rejected", description: "no such app" });
    const err = await done.catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ERR_RTMP_COMMAND");
    expect(String(err)).toMatch(/NetConnection\.Connect\.Rejected: no such app/);
  });

  it("rejects with ERR_RTMP_PEER_CLOSED naming the address when nothing listens", async () => {
    const server = await fakeServer();
    server.close();
    await new Promise((r) => setTimeout(r, 20));
    const err = await client(`rtmp://127.0.0.1:${server.port}/live/s`).connect().catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ERR_RTMP_PEER_CLOSED");
    expect(String(err)).toContain(`127.0.0.1:${server.port}`);
    expect(String(err)).toContain("ECONNREFUSED");
  });

  it("gives up with ERR_RTMP_TIMEOUT when connect gets no answer", async () => {
    const server = await fakeServer();
    const c = client(`rtmp://127.0.0.1:${server.port}/live/s`, { timeoutMs: 300 });
    const err = await c.connect().catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ERR_RTMP_TIMEOUT");
    expect(c.isClosed).toBe(true);
  });

  it("rejects with ERR_RTMP_PEER_CLOSED when the server hangs up during the handshake", async () => {
    const server = await fakeServer((peer) => peer.socket.end());
    const err = await client(`rtmp://127.0.0.1:${server.port}/live/s`).connect().catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ERR_RTMP_PEER_CLOSED");
  });

  it("refuses a chunk size out of range", () => {
    expect(() => client("rtmp://h/live/s", { chunkSize: 0 })).toThrow(expect.objectContaining({ code: "ERR_RTMP_CHUNK_SIZE" }));
  });
});

describe("RtmpClient control messages", () => {
  it("answers Set Peer Bandwidth with its Window Acknowledgement Size, once per size", async () => {
    const { peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    await peer.waitFor((m) => m.type === MessageType.WindowAckSize, "Window Acknowledgement Size");
    peer.write(setPeerBandwidth(2_500_000, 2));
    await new Promise((r) => setTimeout(r, 50));
    const windows = peer.messages.filter((m) => m.type === MessageType.WindowAckSize);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.payload.readUInt32BE(0)).toBe(2_500_000);
  });

  it("acknowledges every window's worth of bytes with the count received", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    peer.write(windowAckSize(10_000));
    const media = Buffer.alloc(4000, 1);
    for (let i = 0; i < 4; i++) peer.write(encodeChunks(6, MessageType.Video, 1, i * 40, media, peer.outChunkSize));
    const ack = await peer.waitFor((m) => m.type === MessageType.Acknowledgement, "Acknowledgement");
    const count = ack.payload.readUInt32BE(0);
    expect(count).toBeGreaterThanOrEqual(10_000);
    expect(count).toBeLessThanOrEqual(c.bytesIn);
  });

  it("records the server's acknowledgements of what it sent", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    peer.write(acknowledgement(123_456));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.bytesAcked).toBe(123_456);
    expect(c.bytesOut).toBeGreaterThan(1537);
  });

  it("answers a ping request with a ping response carrying the same timestamp", async () => {
    const { peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    peer.write(pingRequest(0xdeadbeef));
    const pong = await peer.waitFor(
      (m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === UserControlEvent.PingResponse,
      "ping response",
    );
    expect(pong.payload.readUInt32BE(2)).toBe(0xdeadbeef);
  });

  it("reads messages in the server's chunk size and sends in its own", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s", { chunkSize: 1000 });
    const got: RawMessage[] = [];
    c.on("media", (m) => got.push(m));
    const big = Buffer.alloc(10_000, 7);
    peer.write(encodeChunks(6, MessageType.Video, 1, 40, big, 4096));
    c.sendMessage(1, MessageType.Audio, 80, Buffer.alloc(3000, 9));
    await peer.waitFor((m) => m.type === MessageType.Audio, "audio");
    const audio = peer.messages.find((m) => m.type === MessageType.Audio)!;
    expect(audio.payload.length).toBe(3000);
    expect(audio.timestamp).toBe(80);
    for (let i = 0; i < 20 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got[0]!.payload.equals(big)).toBe(true);
  });

  it("emits StreamBegin and StreamEOF with their stream ids", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    const begin = new Promise<number>((r) => c.once("streamBegin", r));
    const eof = new Promise<number>((r) => c.once("streamEof", r));
    peer.write(streamBegin(1));
    peer.write(streamEof(1));
    expect(await begin).toBe(1);
    expect(await eof).toBe(1);
  });
});

describe("RtmpClient onStatus", () => {
  it("emits every onStatus with its stream id, AMF0 or AMF3 command", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    const seen: Array<[string, number]> = [];
    c.on("status", (info, id) => seen.push([String(info["code"]), id]));
    peer.onStatus(1, "status", "NetStream.Play.PublishNotify");
    const amf3 = Buffer.concat([Buffer.from([0]), encodeAmf0("onStatus", 0, null, { level: "status", code: "NetStream.Play.UnpublishNotify" })]);
    peer.write(encodeChunks(5, MessageType.CommandAmf3, 1, 0, amf3, peer.outChunkSize));
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([
      ["NetStream.Play.PublishNotify", 1],
      ["NetStream.Play.UnpublishNotify", 1],
    ]);
  });

  it("rejects play with the server's code on an error status", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    const playing = c.play(1);
    await peer.waitForCommand("play");
    peer.onStatus(1, "error", "NetStream.Play.Rejected", "access denied");
    const err = await playing.catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ERR_RTMP_COMMAND");
    expect(String(err)).toMatch(/NetStream\.Play\.Rejected: access denied/);
  });

  it("rejects a pending command when the server closes", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    const created = c.createStream();
    await peer.waitForCommand("createStream");
    peer.socket.destroy();
    expect(errorCode(await created.catch((e: unknown) => e))).toBe("ERR_RTMP_PEER_CLOSED");
    expect(errorCode(await c.createStream().catch((e: unknown) => e))).toBe("ERR_RTMP_PEER_CLOSED");
  });
});

describe("RtmpClient publish", () => {
  it("sends releaseStream, FCPublish and publish, metadata as @setDataFrame, and FCUnpublish + deleteStream at the end", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/cam?k=1");
    const publishing = c.publish(1);
    const publish = await peer.waitForCommand("publish");
    expect(publish.streamId).toBe(1);
    expect(publish.args).toEqual([null, "cam?k=1", "live"]);
    expect(peer.commands.map((x) => x.name)).toEqual(["connect", "releaseStream", "FCPublish", "publish"]);
    expect(peer.commands[1]!.args[1]).toBe("cam?k=1");
    peer.onStatus(1, "status", "NetStream.Publish.Start");
    await publishing;

    const meta = new Amf0EcmaArray();
    meta.entries["width"] = 320;
    c.sendMetadata(1, meta);
    const data = await peer.waitFor((m) => m.type === MessageType.DataAmf0, "metadata");
    const values = decodeAmf0(data.payload);
    expect(values[0]).toBe("@setDataFrame");
    expect(values[1]).toBe("onMetaData");
    expect((values[2] as Amf0EcmaArray).entries["width"]).toBe(320);

    c.unpublish(1);
    await peer.waitForCommand("deleteStream");
    const names = peer.commands.map((x) => x.name);
    expect(names.slice(-2)).toEqual(["FCUnpublish", "deleteStream"]);
    expect(peer.commands.at(-1)!.args).toEqual([null, 1]);
    const closed = new Promise<void>((r) => peer.socket.once("end", () => r()));
    await Promise.all([c.end(1000), closed]);
    expect(c.isClosed).toBe(true);
  });

  it("rejects publish with the server's code on an error status", async () => {
    const { c, peer } = await connected("rtmp://127.0.0.1:{port}/live/s");
    const publishing = c.publish(1);
    await peer.waitForCommand("publish");
    peer.onStatus(1, "error", "NetStream.Publish.BadName", "stream is busy");
    expect(String(await publishing.catch((e: unknown) => e))).toMatch(/NetStream\.Publish\.BadName: stream is busy/);
  });
});
