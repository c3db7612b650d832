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
import { JoinedBatch } from "../../stream/joined-batch.js";
import type { SharedMessage } from "../../stream/shared-message.js";

/** Where a player's bytes go: a uWS HTTP response or WebSocket (see src/app/http-routes.ts). */
export interface FlvSink {
  /** True while the peer holds more unsent bytes than it should: write nothing now. */
  readonly blocked: boolean;
  /** Writes the flush's tags, joined, with one call. */
  write(data: Buffer): void;
}

/** The flush's tags joined, shared by the players in step (JoinedBatch). */
const joinedTags = new JoinedBatch();
const flvTagOf = (m: SharedMessage): Buffer => m.flvTag();

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
    const data = joinedTags.join(q, count, 0, flvTagOf);
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
