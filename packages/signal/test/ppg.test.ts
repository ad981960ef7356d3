import { describe, expect, it } from "vitest";
import { elgendiSystolicPeaks, guidedBeats, ppgHeartRate } from "../src/ppg.ts";

const fsHz = 30;

/** A PPG with a systolic wave and a dicrotic wave half as tall in every beat, beats at the given times. */
function syntheticPpg(beatTimesS: number[], seconds: number, dicrotic = 0.5): Float64Array {
  const gauss = (t: number, centre: number, width: number) => Math.exp(-0.5 * ((t - centre) / width) ** 2);
  return Float64Array.from({ length: seconds * fsHz }, (_, i) => {
    const t = i / fsHz;
    let v = 0;
    for (const beat of beatTimesS) v += gauss(t, beat, 0.06) + dicrotic * gauss(t, beat + 0.4, 0.08);
    return v + 0.02 * Math.sin(2 * Math.PI * 0.1 * t);
  });
}

/** Beats at about hrBpm with a slow +/-4% sway in the interval. */
function beats(hrBpm: number, seconds: number): number[] {
  const times: number[] = [];
  for (let t = 0.5, k = 0; t < seconds - 0.5; k++) {
    times.push(t);
    t += (60 / hrBpm) * (1 + 0.04 * Math.sin(k / 3));
  }
  return times;
}

describe("PPG references", () => {
  it("Elgendi's detector finds every systolic peak of a clean waveform, to within a frame", () => {
    const truth = beats(72, 30);
    const peaks = elgendiSystolicPeaks(syntheticPpg(truth, 30), fsHz);
    const inner = truth.filter((t) => t > 1 && t < 29);
    for (const t of inner)
      expect(Math.min(...peaks.map((p) => Math.abs(p.timeS - t)))).toBeLessThanOrEqual(1 / fsHz + 1e-9);
  });

  it("a dicrotic wave counted as a beat is dropped with the spectral rate as a guide", () => {
    const expected = 60 / 55;
    const peaks = [
      { timeS: 1, amplitude: 1 },
      { timeS: 1.4, amplitude: 0.5 },
      { timeS: 1 + expected, amplitude: 1.1 },
    ];
    expect(guidedBeats(peaks, expected)).toEqual([1, 1 + expected]);
  });

  it("gives a slow heart with a strong dicrotic wave its own rate, not twice it, and does not flag it", () => {
    const truth = beats(52, 60);
    const rate = ppgHeartRate(syntheticPpg(truth, 60, 0.8), fsHz);
    const trueBpm = 60 / ((truth[truth.length - 1]! - truth[0]!) / (truth.length - 1));
    expect(Math.abs(rate.beatsHrBpm! - trueBpm)).toBeLessThan(1);
    expect(Math.abs(rate.spectrumHrBpm - trueBpm)).toBeLessThan(3);
    expect(rate.lowQuality).toBe(false);
  });

  it("flags a stretch whose beats and spectrum disagree", () => {
    let state = 3;
    const noise = () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647 - 0.5;
    };
    const rate = ppgHeartRate(Float64Array.from({ length: 20 * fsHz }, noise), fsHz);
    expect(rate.lowQuality).toBe(true);
  });
});
