import { describe, it, expect } from "vitest";
import { TimeJitter } from "../../../src/stream/time-jitter.js";

describe("TimeJitter", () => {
  it("full: starts at 0 and keeps steps up to 250 ms, small backward steps included", () => {
    const j = new TimeJitter("full");
    expect([1000, 1040, 1023, 1080, 1300].map((t) => j.correct(t))).toEqual([0, 40, 23, 80, 300]);
  });

  it("full: turns a jump of more than 250 ms either way into a 10 ms step", () => {
    const j = new TimeJitter("full");
    expect([5000, 5040, 90000, 90040, 100, 140].map((t) => j.correct(t))).toEqual([0, 40, 50, 90, 100, 140]);
  });

  it("full: a returning publisher continues after what players have", () => {
    const j = new TimeJitter("full");
    j.correct(0);
    j.correct(400 - 360);
    j.resetPublisher();
    expect(j.correct(777)).toBe(50);
    expect(j.correct(817)).toBe(90);
  });

  it("zero: shifts the stream to start at 0", () => {
    const j = new TimeJitter("zero");
    expect([3000, 3040, 9000].map((t) => j.correct(t))).toEqual([0, 40, 6000]);
  });

  it("off: leaves timestamps alone", () => {
    const j = new TimeJitter("off");
    expect([3000, 10, 9000].map((t) => j.correct(t))).toEqual([3000, 10, 9000]);
  });

  it("full: stays monotonic over a publish past 4.6 h and 2^32 ms", () => {
    const j = new TimeJitter("full");
    let prev = -1;
    // Unwrapped publisher time from 2^24 - 1 s to past 2^32 in 40 ms steps, sampled.
    for (const base of [0xffffff - 1000, 0xffffffff - 1000]) {
      for (let t = base; t < base + 2000; t += 40) {
        const c = j.correct(t);
        expect(c).toBeGreaterThan(prev);
        prev = c;
      }
    }
  });
});
