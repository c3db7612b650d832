/**
 * One flush's bytes joined into one Buffer, made once for every player that is in step.
 *
 * Players of a stream flush on the same timer, and a player that keeps up has queued
 * exactly the messages every other such player queued: the usual case at scale. So the
 * first player of a flush joins its messages' encoded bytes (RTMP chunks or FLV tags, each
 * already encoded once per message) into one Buffer, and every player after it whose queue
 * holds the same messages writes that Buffer: one copy per flush in all, and one write of
 * one buffer per player instead of a write (or an iovec) per message. A player whose queue
 * differs (it just joined, skipped ahead, filters audio or video, or lags) makes its own,
 * which then serves the players in step with it.
 */
import type { SharedMessage } from "./shared-message.js";

/** A cache of the last join of one encoding; `key` names the encoding's parameters. */
export class JoinedBatch {
  private messages: SharedMessage[] = [];
  private key = -1;
  private joined: Buffer = Buffer.alloc(0);

  /**
   * The first `count` messages of `q`, each encoded by `part(m)` (which must depend on
   * nothing but the message and `key`), joined.
   */
  join(q: readonly SharedMessage[], count: number, key: number, part: (m: SharedMessage) => Buffer): Buffer {
    // One message (mw_latency 0): its own encoding is the batch, nothing to copy.
    if (count === 1) return part(q[0]!);
    const cached = this.messages;
    if (this.key === key && cached.length === count) {
      let i = 0;
      while (i < count && cached[i] === q[i]) i++;
      if (i === count) return this.joined;
    }
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += part(q[i]!).length;
    const out = Buffer.allocUnsafeSlow(bytes);
    let o = 0;
    for (let i = 0; i < count; i++) o += part(q[i]!).copy(out, o);
    this.messages = q.slice(0, count);
    this.key = key;
    this.joined = out;
    return out;
  }
}
