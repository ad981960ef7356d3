import { detrendSmoothnessPriors } from "./detrend.ts";
import { butterworthBandpass, sosFiltFilt } from "./filters.ts";
import { peakFrequency, periodogram, pulseSnrDb } from "./spectrum.ts";

/** Mean skin colour per frame, [frames, 3] row-major (R, G, B), as the traces shards hold it. */
export type RgbTrace = Float32Array | Float64Array;

/** GREEN (Verkruysse et al. 2008) is the green channel itself; CHROM and POS are defined below. */
export type RppgMethod = "green" | "chrom" | "pos";
export const rppgMethods: RppgMethod[] = ["pos", "chrom", "green"];

/** The band heart rates live in: 0.7-3 Hz = 42-180 bpm. */
export const pulseBandHz = { low: 0.7, high: 3 } as const;

function channel(rgb: RgbTrace, c: number): Float64Array {
  return Float64Array.from({ length: rgb.length / 3 }, (_, i) => rgb[i * 3 + c]!);
}

function bandpass(x: Float64Array, fsHz: number): Float64Array {
  if (x.length < 16) return x;
  return sosFiltFilt(
    butterworthBandpass(2, pulseBandHz.low, Math.min(pulseBandHz.high, fsHz / 2 - 0.1), fsHz),
    x,
  );
}

function mean(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]!;
  return sum / (to - from);
}

function std(x: ArrayLike<number>): number {
  const m = mean(x);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i]! - m) ** 2;
  return Math.sqrt(sum / x.length);
}

/**
 * CHROM (de Haan & Jeanne 2013): in 1.6-s Hann windows at 50% overlap, colour normalised by its
 * window mean, chrominance X = 3R - 2G and Y = 1.5R + G - 1.5B band-passed, S = Xf - (sd Xf / sd Yf) Yf,
 * overlap-added.
 */
export function chromPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  let length = Math.round(windowS * fsHz);
  length += length % 2;
  const half = length / 2;
  const out = new Float64Array(n);
  if (n < length) return out;
  const r = channel(rgb, 0);
  const g = channel(rgb, 1);
  const b = channel(rgb, 2);
  for (let start = 0; start + length <= n; start += half) {
    const end = start + length;
    const mr = mean(r, start, end);
    const mg = mean(g, start, end);
    const mb = mean(b, start, end);
    const x = new Float64Array(length);
    const y = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const rn = r[start + i]! / mr;
      const gn = g[start + i]! / mg;
      const bn = b[start + i]! / mb;
      x[i] = 3 * rn - 2 * gn;
      y[i] = 1.5 * rn + gn - 1.5 * bn;
    }
    const xf = bandpass(x, fsHz);
    const yf = bandpass(y, fsHz);
    const alpha = std(xf) / (std(yf) || 1);
    for (let i = 0; i < length; i++) {
      const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (length - 1));
      out[start + i]! += (xf[i]! - alpha * yf[i]!) * hann;
    }
  }
  return out;
}

/**
 * POS (Wang, den Brinker, Stuijk & de Haan 2017): in sliding 1.6-s windows, colour normalised by its
 * window mean is projected on the plane orthogonal to skin tone, S1 = G - B and S2 = -2R + G + B,
 * combined as h = S1 + (sd S1 / sd S2) S2 and overlap-added.
 */
export function posPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  const length = Math.round(windowS * fsHz);
  const h = new Float64Array(n);
  if (n < length) return h;
  const r = channel(rgb, 0);
  const g = channel(rgb, 1);
  const b = channel(rgb, 2);
  const s1 = new Float64Array(length);
  const s2 = new Float64Array(length);
  for (let end = length; end <= n; end++) {
    const start = end - length;
    const mr = mean(r, start, end);
    const mg = mean(g, start, end);
    const mb = mean(b, start, end);
    for (let i = 0; i < length; i++) {
      const rn = r[start + i]! / mr;
      const gn = g[start + i]! / mg;
      const bn = b[start + i]! / mb;
      s1[i] = gn - bn;
      s2[i] = -2 * rn + gn + bn;
    }
    const alpha = std(s1) / (std(s2) || 1);
    let hm = 0;
    for (let i = 0; i < length; i++) hm += s1[i]! + alpha * s2[i]!;
    hm /= length;
    for (let i = 0; i < length; i++) h[start + i]! += s1[i]! + alpha * s2[i]! - hm;
  }
  return h;
}

/**
 * The pulse signal of a method, post-processed alike for every method: smoothness-priors detrending
 * and a zero-phase 0.7-3 Hz band-pass over the whole run, so that slow motion and illumination
 * changes that leak through a method's short windows do not masquerade as a heart rate.
 */
export function rppgPulse(method: RppgMethod, rgb: RgbTrace, fsHz: number): Float64Array {
  const raw =
    method === "green" ? channel(rgb, 1) : method === "chrom" ? chromPulse(rgb, fsHz) : posPulse(rgb, fsHz);
  return bandpass(detrendSmoothnessPriors(raw), fsHz);
}

export interface RppgWindow {
  startS: number;
  endS: number;
  /** null where the window is not wholly covered by frames with a face. */
  hrBpm: number | null;
  snrDb: number | null;
}

export interface RppgOptions {
  windowS?: number;
  strideS?: number;
}

/**
 * Heart rate per analysis window (default 10 s every 1 s) from the spectral peak of the pulse signal
 * in 0.7-3 Hz. The pulse is extracted separately in each run of frames with a face: a frame without
 * one breaks the signal, and a window that is not wholly inside one run has no estimate.
 */
export function rppgHeartRate(
  method: RppgMethod,
  rgb: RgbTrace,
  faceFound: ArrayLike<number>,
  fsHz: number,
  options: RppgOptions = {},
): RppgWindow[] {
  const windowS = options.windowS ?? 10;
  const strideS = options.strideS ?? 1;
  const frames = rgb.length / 3;
  const windowFrames = Math.round(windowS * fsHz);
  // Runs of usable frames: a face found and a finite colour.
  const runOf = new Int32Array(frames).fill(-1);
  const runs: [number, number][] = [];
  for (let i = 0; i < frames; ) {
    if (!faceFound[i] || !Number.isFinite(rgb[i * 3]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < frames && faceFound[j] && Number.isFinite(rgb[j * 3]!)) runOf[j++] = runs.length;
    runs.push([i, j]);
    i = j;
  }
  const pulses = runs.map(([from, to]) =>
    to - from >= windowFrames ? rppgPulse(method, rgb.subarray(from * 3, to * 3), fsHz) : undefined,
  );
  const windows: RppgWindow[] = [];
  for (let start = 0; start + windowFrames <= frames; start += Math.max(1, Math.round(strideS * fsHz))) {
    const end = start + windowFrames;
    const window: RppgWindow = { startS: start / fsHz, endS: end / fsHz, hrBpm: null, snrDb: null };
    const run = runOf[start]!;
    const pulse = run >= 0 ? pulses[run] : undefined;
    if (pulse && runOf[end - 1] === run) {
      const offset = runs[run]![0];
      const spectrum = periodogram(pulse.subarray(start - offset, end - offset), fsHz);
      const hz = peakFrequency(spectrum, pulseBandHz.low, pulseBandHz.high);
      if (Number.isFinite(hz)) {
        window.hrBpm = hz * 60;
        window.snrDb = pulseSnrDb(spectrum, hz, pulseBandHz.low, 4);
      }
    }
    windows.push(window);
  }
  return windows;
}
