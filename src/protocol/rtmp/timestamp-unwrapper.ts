/**
 * RTMP timestamps are 32-bit milliseconds and wrap after 49.7 days (RTMP spec 5.3.1.3;
 * past 2^24 ms, 4.66 h, they move to the extended field). Inside the server time is a plain
 * number that never wraps: this turns a publisher's 32-bit timestamps into that, allowing
 * the small backward steps that interleaved audio and video make around a wrap.
 */
const TWO_POW_32 = 0x100000000;
const HALF = 0x80000000;

export class TimestampUnwrapper {
  private epoch = 0;
  private last = -1;

  unwrap(ts32: number): number {
    const ts = ts32 >>> 0;
    if (this.last < 0) {
      this.last = ts;
      return ts;
    }
    if (ts < this.last && this.last - ts > HALF) {
      // Wrapped forwards past 2^32.
      this.epoch += TWO_POW_32;
      this.last = ts;
      return this.epoch + ts;
    }
    if (ts > this.last && ts - this.last > HALF && this.epoch > 0) {
      // A late message from before the wrap we just passed.
      return this.epoch - TWO_POW_32 + ts;
    }
    this.last = ts;
    return this.epoch + ts;
  }
}
