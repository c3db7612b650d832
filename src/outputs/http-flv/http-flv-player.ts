/**
 * An HTTP-FLV or WebSocket-FLV player as a consumer of a Source: the same bounded queue
 * and skip-to-keyframe as an RTMP player (ConsumerQueue), and each message's FLV tag made
 * once (SharedMessage.flvTag) and shared by every such player. A flush hands the queued
 * tags to the sink joined in one Buffer, itself shared by the players that are in step; a sink whose peer does not keep up says so
 * (`blocked`) and gets nothing until it drains, while the queue passes its bound and drops
 * to the next keyframe.
 */
import type { Consumer } from "../../stream/consumer.js";
import { ConsumerQueue, type QueueLimits } from "../../stream/consumer-queue.js";
import type { SharedMessage } from "../../stream/shared-message.js";

/** Where a player's bytes go: a uWS HTTP response or WebSocket (see src/app/http-routes.ts). */
export interface FlvSink {
  /** True while the peer holds more unsent bytes than it should: write nothing now. */
  readonly blocked: boolean;
  /** Writes the flush's tags, joined, with one call. */
  write(data: Buffer): void;
}

/**
 * The last flush's tags joined into one Buffer, with the messages it was made of: players
 * in step (the usual case) flush the same messages, so the join is made once per flush
 * interval and every such player writes it with one call. A player whose queue differs
 * (it joined, skipped ahead, or lags) makes its own.
 */
let joinedFor: SharedMessage[] = [];
let joined: Buffer = Buffer.alloc(0);

function joinTags(q: readonly SharedMessage[], count: number): Buffer {
  if (joinedFor.length === count) {
    let same = true;
    for (let i = 0; i < count; i++) {
      if (joinedFor[i] !== q[i]) {
        same = false;
        break;
      }
    }
    if (same) return joined;
  }
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += q[i]!.flvTag().length;
  const out = Buffer.allocUnsafe(bytes);
  let o = 0;
  for (let i = 0; i < count; i++) {
    const tag = q[i]!.flvTag();
    tag.copy(out, o);
    o += tag.length;
  }
  joinedFor = q.slice(0, count);
  joined = out;
  return out;
}

export class HttpFlvPlayer implements Consumer {
  writes = 0;
  sentMessages = 0;
  bytesOut = 0;
  private readonly queue: ConsumerQueue;

  constructor(
    private readonly sink: FlvSink,
    limits: QueueLimits,
    startsAtKeyframe: boolean,
  ) {
    this.queue = new ConsumerQueue(limits, startsAtKeyframe);
  }

  get queuedMessages(): number {
    return this.queue.length;
  }
  get droppedMessages(): number {
    return this.queue.droppedMessages;
  }
  get drops(): number {
    return this.queue.drops;
  }

  enqueue(msg: SharedMessage): void {
    this.queue.push(msg);
  }

  flush(): void {
    const q = this.queue.messages;
    const count = q.length;
    if (count === 0 || this.sink.blocked) return;
    const data = joinTags(q, count);
    this.sink.write(data);
    this.bytesOut += data.length;
    this.sentMessages += count;
    this.writes++;
    this.queue.clear();
  }

  /** A publisher (re)started: its metadata and sequence headers come next; media from a keyframe. */
  onPublish(): void {
    this.queue.waitForKeyframe();
  }

  /** The player stays connected and waits for the next publisher, as RTMP players do. */
  onUnpublish(): void {}
}
