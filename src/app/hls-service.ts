/**
 * HLS across the server: one HlsStream per vhost/app/stream whose vhost has `hls { enabled
 * on; }` at publish time (a reload applies to the next publish), attached to the Source as
 * a consumer while the publisher is there, kept after it leaves so that a returning
 * publisher continues the playlist after a discontinuity, and disposed `hls_dispose`
 * seconds after the last unpublish (never when 0). Owns the HlsStore the HTTP server reads.
 */
import type { VhostConfig } from "../conf/config.js";
import { log } from "../core/logger.js";
import { HlsStore } from "../outputs/hls/hls-store.js";
import { HlsStream, type HlsSegmentWritten } from "../outputs/hls/hls-stream.js";
import type { Source } from "../stream/source.js";

interface Entry {
  hls: HlsStream;
  /** The Source it is attached to now, or null between publishes. */
  source: Source | null;
  disposeTimer: NodeJS.Timeout | undefined;
}

export class HlsService {
  readonly store = new HlsStore();
  private readonly streams = new Map<string, Entry>();

  /** The HLS streams, for stats and the API. */
  all(): IterableIterator<HlsStream> {
    return [...this.streams.values()].map((e) => e.hls)[Symbol.iterator]();
  }

  get(key: string): HlsStream | undefined {
    return this.streams.get(key)?.hls;
  }

  /**
   * A publish began on `source`: start (or continue) its HLS if the vhost wants it.
   * `onSegment` hears of each segment written during this publish (on_hls).
   */
  published(
    source: Source,
    vhost: VhostConfig,
    disconnect: (reason: string) => void,
    onSegment: ((seg: HlsSegmentWritten) => void) | null = null,
  ): void {
    let entry = this.streams.get(source.key);
    if (!vhost.hls.enabled) {
      // Turned off by a reload: what was there stays until its own dispose timer.
      return;
    }
    if (entry) {
      if (entry.disposeTimer) clearTimeout(entry.disposeTimer);
      entry.disposeTimer = undefined;
    } else {
      const hls = new HlsStream({ vhost: source.vhost, app: source.app, stream: source.stream }, vhost.hls, this.store, (reason) =>
        disconnect(reason),
      );
      if (hls.stopped) return; // its path template left hls_path: logged by HlsStream
      entry = { hls, source: null, disposeTimer: undefined };
      this.streams.set(source.key, entry);
      log.trace(0, `hls ${source.key}: playlist ${hls.playlistUrl} (${vhost.hls.storage})`);
    }
    entry.hls.begin(vhost.hls);
    entry.hls.onSegment = onSegment;
    entry.source = source;
    source.addConsumer(entry.hls);
  }

  /** The publisher of `source` left (after Source.unpublish closed the segment). */
  unpublished(source: Source, vhost: VhostConfig | undefined): void {
    const entry = this.streams.get(source.key);
    if (!entry || entry.source !== source) return;
    source.removeConsumer(entry.hls);
    entry.source = null;
    // The last segment's on_hls is sent on the disk chain; the hook still names this publisher.
    const seconds = vhost?.hls.dispose ?? 0;
    if (seconds > 0) {
      entry.disposeTimer = setTimeout(() => {
        if (entry.source !== null) return;
        this.streams.delete(source.key);
        log.trace(0, `hls ${source.key}: disposed ${seconds}s after unpublish (hls_dispose)`);
        void entry.hls.dispose();
      }, seconds * 1000);
      entry.disposeTimer.unref();
    }
  }

  /** Waits for every queued disk write (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.streams.values()].map((e) => e.hls.settled()));
  }

  stop(): void {
    for (const e of this.streams.values()) if (e.disposeTimer) clearTimeout(e.disposeTimer);
  }
}
