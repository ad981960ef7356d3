import { describe, expect, it } from "vitest";
import { detrendSmoothnessPriors } from "../src/detrend.ts";
import { chromPulse, rppgMethods } from "../src/methods/index.ts";
import { bandSpectrum, harmonicScore, refinePeakHz, spectrumGrid, viterbiTrack } from "../src/pulse-rate.ts";
import { medianRateHz, resampleUniform, sampleCount, steadyRateHz } from "../src/resample.ts";
import { rppgHeartRate, rppgVideoEstimate } from "../src/rppg.ts";
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

describe("heart rate from window spectra", () => {
  const grid = spectrumGrid(fsHz, 0.7, 3);
  const tone = (hz: number, seconds = 10) =>
    Float64Array.from({ length: seconds * fsHz }, (_, i) => Math.sin((2 * Math.PI * hz * i) / fsHz));
  const bin = (hz: number) => Math.round((hz - grid.gridHz[0]!) / (grid.gridHz[1]! - grid.gridHz[0]!));

  it("tracking keeps the rate its neighbours agree on when one window's highest peak is noise", () => {
    const spectra = [1.5, 1.5, 1.5, 1.5, 1.5].map((hz) => bandSpectrum(tone(hz), fsHz, grid));
    // The middle window's strongest peak jumps to 2.6 Hz, with the pulse still there but weaker.
    const noisy = bandSpectrum(
      Float64Array.from(tone(2.6), (v, i) => v + 0.6 * tone(1.5)[i]!),
      fsHz,
      grid,
    );
    spectra[2] = noisy;
    const untracked = viterbiTrack(spectra, grid, 1, { changeBpmPerS: 1000 });
    expect(Math.abs(untracked[2]! - bin(2.6))).toBeLessThanOrEqual(1);
    const tracked = viterbiTrack(spectra, grid, 1, { changeBpmPerS: 3 });
    for (const k of tracked) expect(Math.abs(k - bin(1.5))).toBeLessThanOrEqual(1);
  });

  it("follows a rate that changes at the allowed pace to within half a 10-s window's resolution (6 bpm)", () => {
    const rates = [1.2, 1.25, 1.3, 1.35, 1.4, 1.45];
    const spectra = rates.map((hz) => bandSpectrum(tone(hz), fsHz, grid));
    const path = viterbiTrack(spectra, grid, 1, { changeBpmPerS: 3 });
    for (const [t, k] of path.entries())
      expect(Math.abs(refinePeakHz(spectra[t]!, grid, k) - rates[t]!) * 60).toBeLessThan(3);
  });

  it("the harmonic check scores a pulse's fundamental above its stronger first harmonic", () => {
    const wideGrid = spectrumGrid(fsHz, 0.7, 6);
    // A pulse at 1 Hz whose harmonic at 2 Hz carries more power than the fundamental.
    const pulse = Float64Array.from(tone(1), (v, i) => 0.8 * v + tone(2)[i]!);
    const wide = bandSpectrum(pulse, fsHz, wideGrid);
    const plain = wide.subarray(0, grid.gridHz.length);
    const scored = harmonicScore(wide, wideGrid, grid.gridHz.length, 0.5);
    const best = (x: Float64Array) => x.indexOf(Math.max(...x));
    expect(Math.abs(best(plain) - bin(2))).toBeLessThanOrEqual(1);
    expect(Math.abs(best(scored) - bin(1))).toBeLessThanOrEqual(1);
  });

  it("gives every window a confidence between 0 and 1 and flags none of a clean pulse as low quality", () => {
    const estimate = rppgVideoEstimate(
      "pos",
      syntheticTrace(40, 72),
      new Uint8Array(40 * fsHz).fill(1),
      fsHz,
    );
    expect(estimate.hrBpm!).toBeCloseTo(72, 0);
    for (const window of estimate.windows) {
      expect(window.confidence!).toBeGreaterThan(0);
      expect(window.confidence!).toBeLessThanOrEqual(1);
      expect(window.lowQuality).toBe(false);
    }
  });

  it("flags the windows of a trace without a pulse as low quality and still reports them", () => {
    let state = 7;
    const noise = () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647 - 0.5;
    };
    const rgb = Float64Array.from({ length: 40 * fsHz * 3 }, () => 120 + 2 * noise());
    const estimate = rppgVideoEstimate("pos", rgb, new Uint8Array(40 * fsHz).fill(1), fsHz, { minSnrDb: 0 });
    expect(estimate.windows).toHaveLength(31);
    expect(estimate.windows.every((w) => w.hrBpm !== null)).toBe(true);
    expect(estimate.windows.filter((w) => w.lowQuality).length).toBeGreaterThan(20);
  });
});

describe("resampling irregular sample times", () => {
  it("gives a camera's rate between its dropped frames, through arrival jitter", () => {
    // 30 fps stamped on arrival to the millisecond (+/-5 ms, as UBFC-rPPG's are), with 3, 1 and 22 frames dropped.
    const dropped = new Map([
      [300, 3],
      [900, 1],
      [1500, 22],
    ]);
    const timeS: number[] = [];
    for (let k = 0, frame = 0; k < 2000; k++, frame++) {
      frame += dropped.get(k) ?? 0;
      timeS.push(Math.round(1000 * (frame / 30 + 0.005 * Math.sin(k * 2.1))) / 1000);
    }
    expect(timeS.length / (timeS.at(-1)! - timeS[0]!)).toBeLessThan(29.7);
    expect(steadyRateHz(timeS)).toBeCloseTo(30, 1);
    // 30 fps stamped on a 16-ms tick, as PhysRecorder's are: 32- and 48-ms intervals, none dropped.
    const ticked = Array.from({ length: 600 }, (_, k) => Math.ceil(k / 30 / 0.016) * 0.016);
    expect(steadyRateHz(ticked)).toBeCloseTo(30, 1);
  });

  it("puts a tone sampled with jittered times back on a uniform grid at its median rate", () => {
    const timeS: number[] = [];
    const values: number[] = [];
    for (let i = 0, t = 0; i < 600; i++) {
      t += (1 / 30) * (i % 3 === 0 ? 1.3 : 0.85);
      timeS.push(t);
      values.push(Math.sin(2 * Math.PI * 1.2 * t), 5);
    }
    expect(medianRateHz(timeS)).toBeCloseTo(30 / 0.85, 6);
    const uniform = resampleUniform(timeS, values, 2, 30);
    expect(uniform.startS).toBe(timeS[0]);
    for (let k = 0; k < uniform.values.length / 2; k++) {
      const t = uniform.startS + k / 30;
      expect(uniform.values[k * 2]!).toBeCloseTo(Math.sin(2 * Math.PI * 1.2 * t), 1);
      expect(uniform.values[k * 2 + 1]!).toBeCloseTo(5, 12);
    }
  });

  it("refuses times that go backwards, naming the sample", () => {
    expect(() => resampleUniform([0, 1, 0.5], [1, 2, 3], 1, 10)).toThrow(/sample 2: 0.5 after 1/);
  });
});

describe("sampleCount: lengths from seconds x rate", () => {
  it("does not flip with floating-point noise in the rate", () => {
    const noisyHz = 1 / (1 / 30) + 4e-15;
    expect(sampleCount(1.6, noisyHz, "up")).toBe(48);
    expect(sampleCount(1.6, 30 - 4e-15, "down")).toBe(48);
    expect(sampleCount(1.61, 30, "up")).toBe(49);
    expect(sampleCount(1.61, 30, "down")).toBe(48);
  });

  it("gives CHROM the same pulse at 30 Hz and at 30 Hz plus rounding noise", () => {
    const rgb = new Float64Array(3 * 300);
    for (let k = 0; k < 300; k++) {
      const pulse = Math.sin((2 * Math.PI * 1.2 * k) / 30);
      rgb.set([120 + 0.3 * pulse, 90 + 0.5 * pulse, 70 + 0.1 * pulse], 3 * k);
    }
    const exact = chromPulse(rgb, 30);
    const noisy = chromPulse(rgb, 30.000000000000004);
    expect(Math.max(...noisy.map((v, i) => Math.abs(v - exact[i]!)))).toBeLessThan(1e-9);
  });
});
