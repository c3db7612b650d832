import { describe, it, expect } from "vitest";
import { Writable } from "node:stream";
import { RtmpPlayer } from "../../../src/outputs/rtmp/rtmp-player.js";
import { MessageFlags, SharedMessage } from "../../../src/stream/shared-message.js";
import type { RtmpServerSession } from "../../../src/protocol/rtmp/server-session.js";

/** A socket stand-in that records each writev batch; `stalled` keeps bytes unsent. */
class RecordingSocket extends Writable {
  batches: Buffer[][] = [];
  stalled = false;
  override destroyed = false;
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.batches.push(chunks.map((c) => c.chunk));
    if (!this.stalled) cb();
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.batches.push([chunk]);
    if (!this.stalled) cb();
  }
}

function makePlayer(opts: { queueMs?: number; queueBytes?: number; startsAtKeyframe?: boolean } = {}) {
  const socket = new RecordingSocket({ highWaterMark: 1 << 30 });
  const statuses: string[] = [];
  const session = {
    socket,
    bytesOut: 0,
    sendOnStatus: (_id: number, _level: string, code: string) => statuses.push(code),
  } as unknown as RtmpServerSession;
  const player = new RtmpPlayer(
    session,
    1,
    4096,
    { queueMs: opts.queueMs ?? 10_000, queueBytes: opts.queueBytes ?? 1 << 20, socketBytes: 64 * 1024 },
    opts.startsAtKeyframe ?? true,
  );
  return { socket, player, statuses };
}

const key = (ts: number) => new SharedMessage(9, ts, Buffer.alloc(100, 0x17), MessageFlags.Keyframe | MessageFlags.RandomAccess);
const inter = (ts: number) => new SharedMessage(9, ts, Buffer.alloc(100, 0x27), 0);
const audio = (ts: number) => new SharedMessage(8, ts, Buffer.alloc(10, 0xaf), 0);
const sh = () => new SharedMessage(9, 0, Buffer.from([0x17, 0, 0, 0, 0]), MessageFlags.SequenceHeader);

describe("RtmpPlayer", () => {
  it("writes everything queued as one Buffer per flush, the very same Buffer for every player in step", () => {
    const a = makePlayer();
    const b = makePlayer();
    const c = makePlayer();
    const msgs = [key(0), audio(10), inter(40), audio(33)];
    for (const m of msgs) {
      a.player.enqueue(m);
      b.player.enqueue(m);
    }
    // c is not in step: it lacks the first message.
    for (const m of msgs.slice(1)) c.player.enqueue(m);
    a.player.flush();
    b.player.flush();
    c.player.flush();
    expect(a.socket.batches).toEqual([[expect.any(Buffer)]]);
    const sent = a.socket.batches[0]![0]!;
    expect(b.socket.batches[0]![0]).toBe(sent);
    expect(sent).toEqual(Buffer.concat(msgs.map((m) => m.rtmpChunks(4096, 1))));
    expect(c.socket.batches[0]![0]).toEqual(Buffer.concat(msgs.slice(1).map((m) => m.rtmpChunks(4096, 1))));
    expect(a.player.writes).toBe(1);
    expect(a.player.bytesOut).toBe(sent.length);
  });

  it("drops a slow player to the next keyframe, keeping sequence headers", () => {
    const { player, socket } = makePlayer({ queueMs: 1000 });
    const header = sh();
    const next = key(2000);
    player.enqueue(header);
    player.enqueue(key(0));
    for (let t = 40; t <= 1040; t += 40) player.enqueue(inter(t));
    expect(player.drops).toBe(1);
    player.enqueue(inter(1080)); // still waiting for a keyframe
    player.enqueue(audio(1090));
    player.enqueue(next);
    player.flush();
    // The sequence header, then the keyframe.
    expect(socket.batches[0]).toEqual([Buffer.concat([header.rtmpChunks(4096, 1), next.rtmpChunks(4096, 1)])]);
    expect(player.droppedMessages).toBeGreaterThan(25);
  });

  it("stops writing while the socket holds too much and skips ahead instead of growing", () => {
    const { player, socket } = makePlayer({ queueMs: 2000 });
    socket.stalled = true;
    const big = (ts: number, k: boolean) =>
      new SharedMessage(9, ts, Buffer.alloc(70 * 1024, 1), k ? MessageFlags.Keyframe | MessageFlags.RandomAccess : 0);
    player.enqueue(big(0, true));
    player.flush(); // Node now holds 70 KB it cannot send
    for (let t = 40; t < 10_000; t += 40) {
      player.enqueue(big(t, t % 2000 === 0));
      player.flush();
    }
    expect(socket.batches).toHaveLength(1);
    expect(player.drops).toBeGreaterThan(0);
    expect(player.queuedMessages).toBeLessThan(60);
  });

  it("waits for a keyframe when it joins without a GOP cache", () => {
    const { player, socket } = makePlayer({ startsAtKeyframe: false });
    const k = key(40);
    const a = audio(45);
    player.enqueue(inter(0));
    player.enqueue(audio(5));
    player.enqueue(k);
    player.enqueue(a);
    player.flush();
    expect(socket.batches[0]).toEqual([Buffer.concat([k.rtmpChunks(4096, 1), a.rtmpChunks(4096, 1)])]);
  });

  it("sends nothing while paused and resumes at a keyframe", () => {
    const { player, socket } = makePlayer();
    player.setPaused(true);
    player.enqueue(key(0));
    player.flush();
    expect(socket.batches).toHaveLength(0);
    player.setPaused(false);
    player.enqueue(inter(40));
    player.enqueue(key(80));
    player.flush();
    expect(socket.batches[0]).toHaveLength(1);
  });

  it("tells the player when the publisher leaves and returns", () => {
    const { player, statuses } = makePlayer();
    player.onUnpublish();
    player.onPublish();
    expect(statuses).toEqual(["NetStream.Play.UnpublishNotify", "NetStream.Play.PublishNotify"]);
  });
});
