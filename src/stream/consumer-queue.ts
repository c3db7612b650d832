/**
 * A player's bounded queue of shared messages, the same for every kind of player (RTMP,
 * HTTP-FLV, WebSocket-FLV): metadata and sequence headers always pass; media waits for a
 * random-access point after a join that did not start at a keyframe, after a republish
 * and after a drop; when the queue passes `queueMs` of media or `queueBytes`, everything
 * but metadata and sequence headers is dropped and the player resumes at the next keyframe
 * (counted in `drops` and `droppedMessages`). No allocation per message beyond the slot.
 */
import type { SharedMessage } from "./shared-message.js";

export interface QueueLimits {
  /** Longest span of queued media, ms (`queue_length` x 1000). */
  queueMs: number;
  /** Most bytes queued. */
  queueBytes: number;
}

export class ConsumerQueue {
  /** The queued messages in order; the player reads them and calls clear() after writing. */
  messages: SharedMessage[] = [];
  bytes = 0;
  /** Messages dropped because the player fell behind, and how many times it happened. */
  droppedMessages = 0;
  drops = 0;
  /** Timestamp of the oldest queued media message, -1 when none is queued. */
  private start = -1;
  private waitingKeyframe: boolean;

  constructor(
    private readonly limits: QueueLimits,
    /** Whether what comes first starts at a keyframe (GOP cache on and filled). */
    startsAtKeyframe: boolean,
  ) {
    this.waitingKeyframe = !startsAtKeyframe;
  }

  get length(): number {
    return this.messages.length;
  }

  push(msg: SharedMessage): void {
    if (msg.isConfig) {
      // Metadata and sequence headers always pass, even while skipping ahead.
      this.messages.push(msg);
      this.bytes += msg.payload.length;
      return;
    }
    if (this.waitingKeyframe) {
      if (!msg.isRandomAccess) {
        this.droppedMessages++;
        return;
      }
      this.waitingKeyframe = false;
    }
    this.messages.push(msg);
    this.bytes += msg.payload.length;
    if (this.start < 0) this.start = msg.timestamp;
    if (this.bytes > this.limits.queueBytes || msg.timestamp - this.start > this.limits.queueMs) this.skipAhead();
  }

  /** Everything queued was written. */
  clear(): void {
    this.messages.length = 0;
    this.bytes = 0;
    this.start = -1;
  }

  /** Media from now on waits for the next random-access point (republish, unpause). */
  waitForKeyframe(): void {
    this.waitingKeyframe = true;
  }

  /** Drops everything queued (pause); counted as dropped, not as a drop. */
  discard(): void {
    this.droppedMessages += this.messages.length;
    this.messages = [];
    this.bytes = 0;
    this.start = -1;
  }

  /** Drops the queue but its metadata and sequence headers, and waits for a keyframe. */
  private skipAhead(): void {
    const kept: SharedMessage[] = [];
    for (const m of this.messages) {
      if (m.isConfig) kept.push(m);
      else this.droppedMessages++;
    }
    this.messages = kept;
    this.bytes = 0;
    for (const m of kept) this.bytes += m.payload.length;
    this.start = -1;
    this.waitingKeyframe = true;
    this.drops++;
  }
}
