/**
 * Timestamp correction of a published stream, with SRS's `play.time_jitter` meanings:
 * - full: monotonic from 0; a step backwards beyond 250 ms or forwards beyond 250 ms
 *   (an encoder restart, a clock jump) becomes a 10 ms step, as SRS's SrsRtmpJitter does;
 * - zero: only shift the stream to start at 0;
 * - off: untouched.
 * Small backward steps (audio and video interleaving) pass unchanged in `full`, so the
 * relative order of audio and video is kept.
 */
export type TimeJitterMode = "full" | "zero" | "off";

const MAX_JITTER_MS = 250;
const DEFAULT_FRAME_MS = 10;

export class TimeJitter {
  private last = -1;
  private corrected = -1;
  private base = -1;

  constructor(readonly mode: TimeJitterMode) {}

  /** `time` is the publisher's unwrapped timestamp in ms; returns the one to deliver. */
  correct(time: number): number {
    switch (this.mode) {
      case "off":
        return time;
      case "zero":
        if (this.base < 0) this.base = time;
        return Math.max(0, time - this.base);
      case "full": {
        if (this.last < 0) {
          // The first message, or the first of a returning publisher: continue just after
          // what players already have, so their timestamps never go back.
          this.last = time;
          this.corrected = this.corrected < 0 ? 0 : this.corrected + DEFAULT_FRAME_MS;
          return this.corrected;
        }
        let delta = time - this.last;
        if (delta < -MAX_JITTER_MS || delta > MAX_JITTER_MS) delta = DEFAULT_FRAME_MS;
        this.corrected = Math.max(0, this.corrected + delta);
        this.last = time;
        return this.corrected;
      }
    }
  }

  /** Forgets the publisher's clock (a new publisher); `full` continues where it was. */
  resetPublisher(): void {
    this.last = -1;
    this.base = -1;
  }
}
