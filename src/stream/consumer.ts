/**
 * What a Source needs of whoever consumes it (an RTMP player, later HTTP-FLV players, the
 * HLS muxer, forwarders, DVR): take a shared message, write out what is queued, and hear
 * about the publisher coming and going. Narrow on purpose (see STYLE.md, MediaMTX).
 */
import type { SharedMessage } from "./shared-message.js";

export interface Consumer {
  /** A message for this consumer; shared with every other consumer, never modified. */
  enqueue(msg: SharedMessage): void;
  /** Writes what is queued; the source calls it every `mw_latency` ms, or right after a join. */
  flush(): void;
  /** A publisher started (or returned to) the stream. */
  onPublish(): void;
  /** The publisher left; the consumer stays and waits for the next one. */
  onUnpublish(): void;
  /** Bytes this consumer has sent to its peer, for the stream's statistics (none for HLS, DVR). */
  readonly bytesOut?: number;
}
