import { describe, expect, it } from "vitest";
import { detrendSmoothnessPriors } from "../src/detrend.ts";
import { rppgHeartRate, rppgMethods } from "../src/rppg.ts";
import { fft, peakFrequency, periodogram } from "../src/spectrum.ts";

const fsHz = 25;

/** Skin colour with a pulse at hrBpm (0.5% on green), slow illumination drift and sensor noise. */
function syntheticTrace(seconds: number, hrBpm: number, seed = 1): Float64Array {
  let state = seed;
  const noise = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647 - 0.5;
  };
  const n = seconds * fsHz;
  const rgb = new Float64Array(n * 3);
  const base = [180, 120, 95];
  const pulsatility = [0.33, 0.77, 0.53];
  for (let i = 0; i < n; i++) {
    const t = i / fsHz;
    const pulse = 0.005 * Math.sin(2 * Math.PI * (hrBpm / 60) * t);
    const light = 1 + 0.05 * Math.sin(2 * Math.PI * 0.05 * t);
    for (let c = 0; c < 3; c++)
      rgb[i * 3 + c] = base[c]! * light * (1 + (pulse * pulsatility[c]!) / 0.77) + 0.3 * noise();
  }
  return rgb;
}

describe("spectrum", () => {
  it("FFT of a unit impulse is flat and of a cosine is two spikes", () => {
    const re = new Float64Array(8);
    const im = new Float64Array(8);
    re[0] = 1;
    fft(re, im);
    expect(Array.from(re)).toEqual(new Array(8).fill(1));
    const cos = Float64Array.from({ length: 16 }, (_, i) => Math.cos((2 * Math.PI * 3 * i) / 16));
    const zeros = new Float64Array(16);
    fft(cos, zeros);
    expect(cos[3]).toBeCloseTo(8, 10);
    expect(cos[13]).toBeCloseTo(8, 10);
    expect(Math.abs(cos[5]!)).toBeLessThan(1e-10);
  });

  it("locates a tone between bins to within 0.01 Hz", () => {
    const x = Float64Array.from({ length: 250 }, (_, i) => Math.sin((2 * Math.PI * 1.2345 * i) / fsHz));
    expect(peakFrequency(periodogram(x, fsHz), 0.7, 3)).toBeCloseTo(1.2345, 2);
  });
});

describe("smoothness-priors detrending", () => {
  it("removes a straight line exactly and keeps a pulse-band tone", () => {
    const line = Float64Array.from({ length: 300 }, (_, i) => 3 + 0.2 * i);
    expect(Math.max(...detrendSmoothnessPriors(line).map(Math.abs))).toBeLessThan(1e-6);
    const tone = Float64Array.from({ length: 300 }, (_, i) => Math.sin((2 * Math.PI * 1.5 * i) / fsHz));
    const kept = detrendSmoothnessPriors(tone);
    for (let i = 50; i < 250; i++) expect(kept[i]!).toBeCloseTo(tone[i]!, 1);
  });
});

describe.each(rppgMethods)("rPPG %s", (method) => {
  it.each([60, 90, 120])("recovers %i bpm from a drifting, noisy skin trace", (hrBpm) => {
    const rgb = syntheticTrace(40, hrBpm);
    const windows = rppgHeartRate(method, rgb, new Uint8Array(40 * fsHz).fill(1), fsHz);
    expect(windows).toHaveLength(31);
    for (const window of windows) {
      expect(window.hrBpm).not.toBeNull();
      expect(Math.abs(window.hrBpm! - hrBpm)).toBeLessThan(2);
      expect(window.snrDb!).toBeGreaterThan(0);
    }
  });

  it("breaks windows at frames without a face instead of interpolating across them", () => {
    const rgb = syntheticTrace(40, 75);
    const faceFound = new Uint8Array(40 * fsHz).fill(1);
    faceFound.fill(0, 18 * fsHz, 20 * fsHz);
    const windows = rppgHeartRate(method, rgb, faceFound, fsHz);
    for (const window of windows) {
      const overlapsGap = window.startS < 20 && window.endS > 18;
      expect(window.hrBpm === null, `${window.startS}-${window.endS}`).toBe(overlapsGap);
    }
  });
});
