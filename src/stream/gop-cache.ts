/**
 * The messages since the last video keyframe, so that a player who joins starts at once
 * from a keyframe instead of waiting for the next one (SRS's gop_cache). Bounded by frame
 * count (`gop_cache_max_frames`) and bytes: past either, the cache is emptied until the next
 * keyframe, as SRS does. A stream with no video keeps a short run of audio instead.
 */
import type { SharedMessage } from "./shared-message.js";

/** As SRS: audio-only streams keep at most this many audio messages. */
const PURE_AUDIO_MESSAGES = 115;

export class GopCache {
  private messages: SharedMessage[] = [];
  private bytes = 0;
  private videoFrames = 0;
  private audioSinceVideo = 0;
  private seenVideo = false;
  /** How many times a bound emptied the cache. */
  overflows = 0;

  constructor(
    private enabled: boolean,
    private maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  configure(enabled: boolean, maxFrames: number): void {
    this.enabled = enabled;
    this.maxFrames = maxFrames;
    if (!enabled) this.clear();
  }

  /** Offers a live message (not metadata or sequence headers: the source keeps those). */
  push(msg: SharedMessage): void {
    if (!this.enabled) return;
    if (msg.isVideo) {
      this.seenVideo = true;
      if (msg.isKeyframe) this.clear();
      else if (this.videoFrames === 0) return; // no keyframe to start from yet
      this.videoFrames++;
      this.audioSinceVideo = 0;
    } else if (msg.isAudio) {
      if (this.seenVideo && this.videoFrames === 0) return;
      this.audioSinceVideo++;
      if (!this.seenVideo && this.audioSinceVideo > PURE_AUDIO_MESSAGES) {
        // Pure audio: keep a sliding window rather than growing.
        const first = this.messages.shift();
        if (first) this.bytes -= first.payload.length;
        this.audioSinceVideo--;
      }
    } else if (this.messages.length === 0) {
      return;
    }
    this.messages.push(msg);
    this.bytes += msg.payload.length;
    if (this.videoFrames > this.maxFrames || this.bytes > this.maxBytes) {
      this.overflows++;
      this.clear();
    }
  }

  /** A new publisher: what the old one cached is not a start for the new stream. */
  clear(): void {
    this.messages = [];
    this.bytes = 0;
    this.videoFrames = 0;
    this.audioSinceVideo = 0;
  }

  /** Forget whether the stream had video (a new publisher may differ). */
  reset(): void {
    this.clear();
    this.seenVideo = false;
  }

  get size(): number {
    return this.messages.length;
  }
  get byteSize(): number {
    return this.bytes;
  }

  /** The cached messages in order; the array is the cache's own, do not modify. */
  snapshot(): readonly SharedMessage[] {
    return this.messages;
  }
}
