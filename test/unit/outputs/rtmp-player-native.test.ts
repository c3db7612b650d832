import { describe, it, expect } from "vitest";
import net from "node:net";
import { RtmpPlayer } from "../../../src/outputs/rtmp/rtmp-player.js";
import { MessageFlags, SharedMessage } from "../../../src/stream/shared-message.js";
import { createChunkDecoder, writevFd } from "../../../src/native/index.js";
import { setChunkSize } from "../../../src/protocol/rtmp/control-messages.js";
import type { RtmpServerSession } from "../../../src/protocol/rtmp/server-session.js";

/** A connected pair of real TCP sockets on loopback. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => listener.once("connection", r));
  const client = net.connect({ host: "127.0.0.1", port });
  const server = await accepted;
  await new Promise<void>((r) => (client.readyState === "open" ? r() : client.once("connect", () => r())));
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

describe("RtmpPlayer native writes", () => {
  it("writes with one native writev and hands a partial write's rest to Node, in order", async () => {
    const { server, client, close } = await socketPair();
    try {
      const session = { socket: server, bytesOut: 0, sendOnStatus: () => {} } as unknown as RtmpServerSession;
      const player = new RtmpPlayer(session, 1, 60000, { queueMs: 1e9, queueBytes: 1 << 30, socketBytes: 1 << 30 }, true);
      // 300 messages of 100 KB: far more than the socket's send buffer takes at once.
      const sent: SharedMessage[] = [];
      for (let i = 0; i < 300; i++) {
        const payload = Buffer.alloc(100_000, i & 0xff);
        const m = new SharedMessage(9, i * 40, payload, i === 0 ? MessageFlags.Keyframe | MessageFlags.RandomAccess : 0);
        sent.push(m);
        player.enqueue(m);
      }
      player.flush();
      expect(player.writes).toBe(1);
      expect(server.writableLength).toBeGreaterThan(0); // the rest waits in Node

      const decoder = createChunkDecoder({ maxMessageSize: 1 << 20, maxChunkStreams: 8 });
      decoder.push(setChunkSize(60000)); // what the session announced after connect
      const got: number[] = [];
      await new Promise<void>((resolve) => {
        client.on("data", (d: Buffer) => {
          for (const m of decoder.push(d)) got.push(m.timestamp);
          if (got.length === 300) resolve();
        });
      });
      expect(got).toEqual(sent.map((m) => m.timestamp));
    } finally {
      close();
    }
  });

  it("reports a socket error as -errno", async () => {
    const { server, close } = await socketPair();
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    close();
    await new Promise((r) => setTimeout(r, 50));
    // The descriptor is closed now: EBADF.
    expect(writevFd(fd, [Buffer.from("x")], 1)).toBeLessThan(0);
  });
});
