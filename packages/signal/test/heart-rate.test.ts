import { describe, expect, it } from "vitest";
import { frameHeartRates, rrIntervals } from "../src/heart-rate.ts";

describe("rrIntervals", () => {
  it("pairs consecutive beats inside one span only, and rejects rates outside 30-200 bpm", () => {
    const beats = [0.5, 1.5, 2.5, 2.6, 3.6, 9.0, 10.0, 11.0, 12.0];
    const spans = [
      { startS: 0, endS: 10.5 },
      { startS: 10.5, endS: 20 },
    ];
    const { intervals, rejected } = rrIntervals(beats, spans);
    // 2.5->2.6 is 600 bpm, 3.6->9.0 is 11 bpm; 10.0->11.0 crosses spans and is never formed.
    expect(rejected).toBe(2);
    expect(intervals).toEqual([
      { startS: 0.5, endS: 1.5 },
      { startS: 1.5, endS: 2.5 },
      { startS: 2.6, endS: 3.6 },
      { startS: 9.0, endS: 10.0 },
      { startS: 11.0, endS: 12.0 },
    ]);
  });
});

describe("frameHeartRates", () => {
  it("averages the RR intervals wholly inside the centred window and nulls windows with fewer than two", () => {
    // Beats every 0.8 s (75 bpm) from 0 to 8 s, then every 0.5 s (120 bpm) from 8 to 12 s.
    const beats = [
      ...Array.from({ length: 11 }, (_, i) => i * 0.8),
      ...Array.from({ length: 8 }, (_, i) => 8.5 + i * 0.5),
    ];
    const { intervals } = rrIntervals(beats, [{ startS: 0, endS: 20 }]);
    const hr = frameHeartRates(intervals, { frameCount: 20 * 4, fps: 4, windowS: 2 });
    expect(hr[4 * 3]).toBeCloseTo(75, 10); // window [2, 4]: intervals 2.4-3.2, 3.2-4.0
    expect(hr[4 * 10]).toBeCloseTo(120, 10); // window [9, 11]: four 0.5 s intervals
    // frame 30 (7.5 s), window [6.5, 8.5]: 7.2-8.0 and 8.0-8.5 lie in it, 6.4-7.2 starts before it.
    expect(hr[30]).toBeCloseTo(60 / ((0.8 + 0.5) / 2), 10);
    expect(hr[0]).toBeNull(); // window [-1, 1]: only 0-0.8 lies inside
    expect(hr[4 * 15]).toBeNull(); // no beats after 12 s
    expect(hr).toHaveLength(80);
  });
});
