import { describe, expect, it } from "vitest";
import { frameClock, ReferenceRate } from "../src/index.ts";

describe("references as heart rates on the video's clock", () => {
  it("maps a reference time to video time through the frames' own times, between frames too", () => {
    const clock = frameClock(Float64Array.from([100, 100.03, 100.07, 100.1]), 30);
    expect(clock(100)).toBe(0);
    expect(clock(100.07)).toBeCloseTo(2 / 30, 12);
    expect(clock(100.05)).toBeCloseTo(1.5 / 30, 12);
  });

  it("a PPG waveform on an irregular unix clock gives its rate per window and for the recording", () => {
    const start = 1_685_590_249.9;
    const timeS: number[] = [];
    const values: number[] = [];
    const pulse = (t: number) => {
      const phase = (t * 75) / 60;
      return (
        Math.exp(-0.5 * ((phase % 1) / 0.12) ** 2) + 0.4 * Math.exp(-0.5 * (((phase + 0.6) % 1) / 0.1) ** 2)
      );
    };
    for (let i = 0, t = 0; t < 40; i++, t += (1 / 20) * (i % 5 === 0 ? 1.3 : 0.93)) {
      timeS.push(start + t);
      values.push(pulse(t));
    }
    // The video started 2 s after the oximeter, on the same clock.
    const frames = Float64Array.from({ length: 30 * 30 }, (_, k) => start + 2 + k / 30);
    const rate = new ReferenceRate(
      { kind: "ppg", timeS: Float64Array.from(timeS), values: Float64Array.from(values) },
      frameClock(frames, 30),
    );
    const window = rate.window(5, 15)!;
    expect(Math.abs(window.hrBpm - 75)).toBeLessThan(1);
    expect(window.lowQuality).toBe(false);
    expect(Math.abs(rate.whole(30)! - 75)).toBeLessThan(1.5);
    // Beyond the reference's end there is no rate.
    expect(rate.window(37, 47)).toBeNull();
    // The waveform at every video frame (what fine-tuning targets): the oximeter's own samples, NaN
    // past its end (38 s of video time).
    const wave = rate.waveformAtFrames(30, 40 * 30)!;
    const truth = Array.from({ length: 30 * 30 }, (_, k) => pulse(k / 30 + 2));
    const got = Array.from(wave.subarray(0, 30 * 30));
    const centred = (xs: number[]) => xs.map((x) => x - xs.reduce((s, v) => s + v, 0) / xs.length);
    const [a, b] = [centred(truth), centred(got)];
    const r =
      a.reduce((s, v, i) => s + v * b[i]!, 0) /
      Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
    // As close as linear interpolation of the 20-Hz samples themselves gets to the narrow pulses (0.91).
    expect(r).toBeGreaterThan(0.88);
    expect(wave.subarray(0, 37 * 30).every(Number.isFinite)).toBe(true);
    expect(wave.subarray(39 * 30).every(Number.isNaN)).toBe(true);
  });

  it("RR intervals give 60 over their mean inside the window; an HR trace its mean", () => {
    const rr = new ReferenceRate({
      kind: "rr",
      timeS: Float64Array.from([1, 2, 2.8, 3.6, 4.4]),
      values: Float64Array.from([1, 1, 0.8, 0.8, 0.8]),
    });
    expect(rr.window(2.5, 5)!.hrBpm).toBeCloseTo(75, 9);
    const hr = new ReferenceRate({
      kind: "hr",
      timeS: Float64Array.from([0, 1, 2, 3]),
      values: Float64Array.from([60, 70, 80, 90]),
    });
    expect(hr.window(1, 3)!.hrBpm).toBe(75);
    // Neither is a pulse wave.
    expect(rr.waveformAtFrames(30, 100)).toBeNull();
    expect(hr.waveformAtFrames(30, 100)).toBeNull();
    expect(hr.window(10, 20)).toBeNull();
  });
});
