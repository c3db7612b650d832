/**
 * An RTMP player as a consumer of a Source: a bounded queue of shared messages, each
 * message's chunks encoded once for all players; a flush writes the queued chunks joined in
 * one Buffer, itself made once for all the players in step (JoinedBatch), with one write. A player that falls behind (its
 * queue passes `queue_length` seconds or its byte bound, or its socket stops draining)
 * drops what is queued except metadata and sequence headers and resumes at the next
 * keyframe; each drop is counted. No allocation per message beyond the queue slot.
 */
import { writevFd } from "../../native/index.js";
import type { RtmpServerSession } from "../../protocol/rtmp/server-session.js";
import type { Consumer } from "../../stream/consumer.js";
import { ConsumerQueue, type QueueLimits } from "../../stream/consumer-queue.js";
import { JoinedBatch } from "../../stream/joined-batch.js";
import type { SharedMessage } from "../../stream/shared-message.js";

export interface RtmpPlayerLimits extends QueueLimits {
  /** Most bytes Node may hold unsent for the socket before we stop writing to it. */
  socketBytes: number;
}

/**
 * `SLUICE_FANOUT=node` writes through Node's socket.write (cork/uncork, one writev via
 * libuv); the default writes with one native writev straight to the socket's descriptor,
 * which costs far less JS per flush (see docs/performance.md).
 */
const nativeWrites = process.env["SLUICE_FANOUT"] !== "node";

/** The flush's chunks joined, shared by the players in step with the same chunk size and stream id. */
const joinedChunks = new JoinedBatch();
/** Reused: the one Buffer handed to the native writev. */
const one: Buffer[] = [];
const EMPTY = Buffer.alloc(0);

export class RtmpPlayer implements Consumer {
  /** Batches written (one writev each) and messages sent. */
  writes = 0;
  sentMessages = 0;
  bytesOut = 0;
  paused = false;
  audio = true;
  video = true;

  private readonly queue: ConsumerQueue;
  /** The socket's descriptor for native writes, or -1 (not a plain TCP socket). */
  private readonly fd: number;
  /** What the joined batch is keyed by, and how it encodes a message for this player. */
  private readonly joinKey: number;
  private readonly chunksOf: (m: SharedMessage) => Buffer;

  constructor(
    private readonly session: RtmpServerSession,
    readonly streamId: number,
    private readonly chunkSize: number,
    private readonly limits: RtmpPlayerLimits,
    /** Whether the join preamble starts at a keyframe (GOP cache on and filled). */
    startsAtKeyframe: boolean,
  ) {
    this.queue = new ConsumerQueue(limits, startsAtKeyframe);
    const handle = (session.socket as unknown as { _handle?: { fd?: unknown } })._handle;
    this.fd = nativeWrites && typeof handle?.fd === "number" ? handle.fd : -1;
    this.joinKey = chunkSize * 2 ** 32 + streamId;
    this.chunksOf = (m) => m.rtmpChunks(chunkSize, streamId);
  }

  get queuedMessages(): number {
    return this.queue.length;
  }
  /** Messages dropped because the player fell behind, and how many times it happened. */
  get droppedMessages(): number {
    return this.queue.droppedMessages;
  }
  get drops(): number {
    return this.queue.drops;
  }

  enqueue(msg: SharedMessage): void {
    if (this.paused) return;
    if (!msg.isConfig && (msg.isVideo ? !this.video : msg.isAudio && !this.audio)) return;
    this.queue.push(msg);
  }

  flush(): void {
    const q = this.queue.messages;
    const count = q.length;
    if (count === 0) return;
    const socket = this.session.socket;
    if (socket.destroyed) return;
    const unsent = socket.writableLength;
    // Node still holds what the kernel would not take: write nothing more now. The queue
    // grows until it passes its bound and the player skips ahead.
    if (unsent > this.limits.socketBytes) return;
    const data = joinedChunks.join(q, count, this.joinKey, this.chunksOf);
    const bytes = data.length;
    if (this.fd >= 0 && unsent === 0) {
      one[0] = data;
      const written = writevFd(this.fd, one, 1);
      one[0] = EMPTY;
      if (written < 0) {
        socket.destroy(Object.assign(new Error(`writev failed (errno ${-written})`), { code: `ERRNO_${-written}` }));
        return;
      }
      // The kernel took part of it: Node sends the rest when it can.
      if (written < bytes) socket.write(written > 0 ? data.subarray(written) : data);
    } else {
      socket.write(data);
    }
    this.session.bytesOut += bytes;
    this.bytesOut += bytes;
    this.sentMessages += count;
    this.writes++;
    this.queue.clear();
  }

  onPublish(): void {
    this.session.sendOnStatus(this.streamId, "status", "NetStream.Play.PublishNotify", "Now published.");
    this.queue.waitForKeyframe();
  }

  onUnpublish(): void {
    this.session.sendOnStatus(this.streamId, "status", "NetStream.Play.UnpublishNotify", "Stream is now unpublished.");
  }

  /** Pause (true) stops delivery; unpause resumes live from the next keyframe. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.queue.discard();
    else this.queue.waitForKeyframe();
  }
}
