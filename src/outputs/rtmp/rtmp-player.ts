/**
 * An RTMP player as a consumer of a Source: a bounded queue of shared chunk Buffers,
 * written with one corked batch (one writev) per flush. A player that falls behind (its
 * queue passes `queue_length` seconds or its byte bound, or its socket stops draining)
 * drops what is queued except metadata and sequence headers and resumes at the next
 * keyframe; each drop is counted. No allocation per message beyond the queue slot.
 */
import { writevFd } from "../../native/index.js";
import type { RtmpServerSession } from "../../protocol/rtmp/server-session.js";
import type { Consumer } from "../../stream/consumer.js";
import { ConsumerQueue, type QueueLimits } from "../../stream/consumer-queue.js";
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

/** Reused between flushes: the Buffers of one flush, handed to the native writev. */
const batch: Buffer[] = [];

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
    const chunkSize = this.chunkSize;
    const streamId = this.streamId;
    let bytes = 0;
    if (this.fd >= 0 && unsent === 0) {
      for (let i = 0; i < count; i++) {
        const b = q[i]!.rtmpChunks(chunkSize, streamId);
        batch[i] = b;
        bytes += b.length;
      }
      const written = writevFd(this.fd, batch, count);
      if (written < 0) {
        batch.length = 0;
        socket.destroy(Object.assign(new Error(`writev failed (errno ${-written})`), { code: `ERRNO_${-written}` }));
        return;
      }
      if (written < bytes) this.writeRest(batch, count, written);
      batch.length = 0;
    } else {
      socket.cork();
      for (let i = 0; i < count; i++) {
        const b = q[i]!.rtmpChunks(chunkSize, streamId);
        bytes += b.length;
        socket.write(b);
      }
      socket.uncork();
    }
    this.session.bytesOut += bytes;
    this.bytesOut += bytes;
    this.sentMessages += count;
    this.writes++;
    this.queue.clear();
  }

  /** The kernel took `skip` bytes of the batch: Node sends the rest when it can. */
  private writeRest(buffers: Buffer[], count: number, skip: number): void {
    const socket = this.session.socket;
    socket.cork();
    for (let i = 0; i < count; i++) {
      const b = buffers[i]!;
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      socket.write(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    socket.uncork();
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
