import { describe, expect, it } from "vitest";
import {
  butterworthBandpass,
  butterworthHighpass,
  butterworthLowpass,
  dcNotch,
  notch,
  sosFilter,
  sosFiltFilt,
  sosGain,
} from "../src/filters.ts";

const fsHz = 128;

function sine(hz: number, seconds: number, amplitude = 1): Float64Array {
  return Float64Array.from(
    { length: Math.round(seconds * fsHz) },
    (_, n) => amplitude * Math.sin((2 * Math.PI * hz * n) / fsHz),
  );
}

function rms(x: Float64Array, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! ** 2;
  return Math.sqrt(sum / (to - from));
}

describe("filter design against closed-form responses", () => {
  it("Butterworth low-pass: unit gain at DC, 1/sqrt(2) at the cutoff, |H|^2 = 1/(1+(tan(pi f/fs)/tan(pi fc/fs))^2n)", () => {
    for (const order of [1, 2, 3, 4, 5]) {
      const sos = butterworthLowpass(order, 10, fsHz);
      expect(sosGain(sos, 0, fsHz)).toBeCloseTo(1, 12);
      expect(sosGain(sos, 10, fsHz)).toBeCloseTo(Math.SQRT1_2, 10);
      for (const hz of [2, 20, 50]) {
        const ratio = Math.tan((Math.PI * hz) / fsHz) / Math.tan((Math.PI * 10) / fsHz);
        expect(sosGain(sos, hz, fsHz)).toBeCloseTo(1 / Math.sqrt(1 + ratio ** (2 * order)), 10);
      }
      expect(sosGain(sos, fsHz / 2, fsHz)).toBeLessThan(1e-9);
    }
  });

  it("Butterworth high-pass: zero gain at DC, unit gain at Nyquist, 1/sqrt(2) at the cutoff", () => {
    for (const order of [1, 2, 4]) {
      const sos = butterworthHighpass(order, 0.5, fsHz);
      expect(sosGain(sos, 0, fsHz)).toBeLessThan(1e-12);
      expect(sosGain(sos, fsHz / 2, fsHz)).toBeCloseTo(1, 12);
      expect(sosGain(sos, 0.5, fsHz)).toBeCloseTo(Math.SQRT1_2, 10);
    }
  });

  it("Butterworth band-pass as scipy designs it: |H|^2 = 1/(1+((W^2-W0^2)/(W B))^2n) in pre-warped frequencies", () => {
    const warp = (hz: number) => 2 * fsHz * Math.tan((Math.PI * hz) / fsHz);
    for (const [order, low, high] of [
      [1, 0.75, 2.5],
      [2, 5, 15],
      [3, 0.7, 2.5],
      [4, 10, 40],
    ] as const) {
      const sos = butterworthBandpass(order, low, high, fsHz);
      expect(sos).toHaveLength(order);
      const bandwidth = warp(high) - warp(low);
      const centre2 = warp(low) * warp(high);
      expect(sosGain(sos, 0, fsHz)).toBeLessThan(1e-12);
      expect(sosGain(sos, fsHz / 2, fsHz)).toBeLessThan(1e-9);
      expect(sosGain(sos, low, fsHz)).toBeCloseTo(Math.SQRT1_2, 10);
      expect(sosGain(sos, high, fsHz)).toBeCloseTo(Math.SQRT1_2, 10);
      for (const hz of [0.3, 1, 2, 7, 20, 50]) {
        const ratio = (warp(hz) ** 2 - centre2) / (warp(hz) * bandwidth);
        expect(sosGain(sos, hz, fsHz)).toBeCloseTo(1 / Math.sqrt(1 + ratio ** (2 * order)), 10);
      }
    }
  });

  it("50 Hz notch (Q 30): zero gain at 50 Hz, unity at DC and Nyquist, 1/sqrt(2) at the band edges", () => {
    const sos = notch(50, 30, fsHz);
    expect(sosGain(sos, 50, fsHz)).toBeLessThan(1e-12);
    expect(sosGain(sos, 0, fsHz)).toBeCloseTo(1, 12);
    expect(sosGain(sos, fsHz / 2, fsHz)).toBeCloseTo(1, 12);
    expect(sosGain(sos, 10, fsHz)).toBeGreaterThan(0.99);
  });

  it("0 Hz notch (baseline removal): zero gain at DC, unit gain at Nyquist, passes QRS frequencies", () => {
    const sos = dcNotch(0.5, fsHz);
    expect(sosGain(sos, 0, fsHz)).toBe(0);
    expect(sosGain(sos, fsHz / 2, fsHz)).toBeCloseTo(1, 12);
    expect(sosGain(sos, 0.5, fsHz)).toBeGreaterThan(0.69);
    expect(sosGain(sos, 0.5, fsHz)).toBeLessThan(0.73);
    expect(sosGain(sos, 5, fsHz)).toBeGreaterThan(0.99);
  });
});

describe("filtering", () => {
  it("a causal low-pass passes a pass-band tone at the designed gain and removes a stop-band one", () => {
    const sos = butterworthLowpass(4, 10, fsHz);
    const pass = sosFilter(sos, sine(3, 20));
    const stop = sosFilter(sos, sine(40, 20));
    const settled = 5 * fsHz;
    expect(rms(pass, settled) / Math.SQRT1_2).toBeCloseTo(sosGain(sos, 3, fsHz), 3);
    expect(rms(stop, settled)).toBeLessThan(1e-3);
  });

  it("zero-phase filtering squares the gain and shifts no sample", () => {
    const sos = butterworthLowpass(2, 10, fsHz);
    const x = sine(4, 20);
    const y = sosFiltFilt(sos, x);
    const gain2 = sosGain(sos, 4, fsHz) ** 2;
    for (let n = 2 * fsHz; n < x.length - 2 * fsHz; n++) expect(y[n]!).toBeCloseTo(gain2 * x[n]!, 3);
  });

  it("removes baseline wander and 50 Hz mains from a constant-plus-ramp signal without edge transients", () => {
    const x = Float64Array.from(sine(50, 20, 0.5), (v, n) => v + 3 + 0.01 * n);
    const baseline = sosFiltFilt(dcNotch(0.5, fsHz), x, 2 * fsHz);
    const clean = sosFiltFilt(notch(50, 30, fsHz), baseline);
    expect(rms(clean, 2 * fsHz, x.length - 2 * fsHz)).toBeLessThan(0.05);
  });

  it("rejects impossible designs with the setting named", () => {
    expect(() => butterworthLowpass(2, 70, fsHz)).toThrow(
      /lowpass cutoff 70 Hz must lie between 0 and the Nyquist frequency 64 Hz/,
    );
    expect(() => butterworthLowpass(0, 10, fsHz)).toThrow(/filter order 0/);
    expect(() => butterworthBandpass(2, 15, 5, fsHz)).toThrow(/must be increasing/);
  });
});
