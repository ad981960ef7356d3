import { detrendSmoothnessPriors } from "./detrend.ts";
import { butterworthBandpass, sosFiltFilt } from "./filters.ts";
import { jadeSources } from "./jade.ts";
import { solve, symmetricEigen } from "./linalg.ts";
import { sampleCount } from "./resample.ts";

/**
 * The classical rPPG methods: each a pure function from a mean-skin-colour trace to a pulse signal,
 * written after its paper and checked against rPPG-Toolbox's implementation of it (the same RGB in
 * gives the same pulse out, test/rppg-methods.test.ts).
 */

/** Mean skin colour per frame, [frames, 3] row-major (R, G, B), as the traces shards hold it. */
export type RgbTrace = Float32Array | Float64Array;

export type RppgMethod = "pos" | "chrom" | "omit" | "lgi" | "pbv" | "ica" | "green";
/** Every method, in the order reports list them. */
export const rppgMethods: RppgMethod[] = ["pos", "chrom", "omit", "lgi", "pbv", "ica", "green"];

/** The band heart rates live in: 0.7-3 Hz = 42-180 bpm. */
export const pulseBandHz = { low: 0.7, high: 3 } as const;

export function channel(rgb: RgbTrace, c: number): Float64Array {
  return Float64Array.from({ length: rgb.length / 3 }, (_, i) => rgb[i * 3 + c]!);
}

/** A zero-phase Butterworth band-pass over the pulse band (or `band`), its top kept below Nyquist. */
export function bandpassPulse(
  x: Float64Array,
  fsHz: number,
  order = 2,
  band: { low: number; high: number } = pulseBandHz,
): Float64Array {
  if (x.length < 16) return x;
  return sosFiltFilt(butterworthBandpass(order, band.low, Math.min(band.high, fsHz / 2 - 0.1), fsHz), x);
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

/** GREEN (Verkruysse, Svaasand & Nelson 2008): the green channel, where haemoglobin absorbs most. */
export function greenPulse(rgb: RgbTrace): Float64Array {
  return channel(rgb, 1);
}

/**
 * CHROM (de Haan & Jeanne 2013, "Robust pulse rate from chrominance-based rPPG"): in 1.6-s Hann
 * windows at 50% overlap, colour normalised by its window mean, chrominance X = 3R - 2G and
 * Y = 1.5R + G - 1.5B band-passed, S = Xf - (sd Xf / sd Yf) Yf, overlap-added.
 */
export function chromPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  let length = sampleCount(windowS, fsHz, "up");
  length += length % 2;
  const half = length / 2;
  const out = new Float64Array(n);
  if (n < length) return out;
  const [r, g, b] = [channel(rgb, 0), channel(rgb, 1), channel(rgb, 2)];
  const x = new Float64Array(length);
  const y = new Float64Array(length);
  for (let start = 0; start + length <= n; start += half) {
    const end = start + length;
    const [mr, mg, mb] = [mean(r, start, end), mean(g, start, end), mean(b, start, end)];
    for (let i = 0; i < length; i++) {
      const rn = r[start + i]! / mr;
      const gn = g[start + i]! / mg;
      const bn = b[start + i]! / mb;
      x[i] = 3 * rn - 2 * gn;
      y[i] = 1.5 * rn + gn - 1.5 * bn;
    }
    const xf = bandpassPulse(x, fsHz, 3);
    const yf = bandpassPulse(y, fsHz, 3);
    const alpha = std(xf) / (std(yf) || 1);
    for (let i = 0; i < length; i++) {
      const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (length - 1));
      out[start + i]! += (xf[i]! - alpha * yf[i]!) * hann;
    }
  }
  return out;
}

/**
 * POS (Wang, den Brinker, Stuijk & de Haan 2017, "Algorithmic principles of remote PPG"): in sliding
 * 1.6-s windows, colour normalised by its window mean is projected on the plane orthogonal to skin
 * tone, S1 = G - B and S2 = -2R + G + B, combined as h = S1 + (sd S1 / sd S2) S2 and overlap-added.
 */
export function posPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  const length = sampleCount(windowS, fsHz, "up");
  const h = new Float64Array(n);
  if (n < length) return h;
  const [r, g, b] = [channel(rgb, 0), channel(rgb, 1), channel(rgb, 2)];
  const s1 = new Float64Array(length);
  const s2 = new Float64Array(length);
  for (let end = length; end <= n; end++) {
    const start = end - length;
    const [mr, mg, mb] = [mean(r, start, end), mean(g, start, end), mean(b, start, end)];
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

/** The green row of (I - u u') X: the colour trace with its component along the unit vector u removed. */
function greenOrthogonalTo(rgb: RgbTrace, u: readonly [number, number, number]): Float64Array {
  const n = rgb.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const along = u[0] * rgb[i * 3]! + u[1] * rgb[i * 3 + 1]! + u[2] * rgb[i * 3 + 2]!;
    out[i] = rgb[i * 3 + 1]! - u[1] * along;
  }
  return out;
}

/**
 * LGI (Pilz, Zaunseder, Krajewski & Blazek 2018, "Local group invariance for heart rate estimation
 * from face videos in the wild"): the colour trace projected away from its principal direction (the
 * first left singular vector of the 3 x T trace, the skin tone and the light's intensity), green row.
 */
export function lgiPulse(rgb: RgbTrace): Float64Array {
  const gram = new Float64Array(9);
  const n = rgb.length / 3;
  for (let i = 0; i < n; i++)
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) gram[a * 3 + b]! += rgb[i * 3 + a]! * rgb[i * 3 + b]!;
  const { values, vectors } = symmetricEigen(gram, 3);
  const top = values.indexOf(Math.max(...values));
  return greenOrthogonalTo(rgb, [vectors[top]!, vectors[3 + top]!, vectors[6 + top]!]);
}

/**
 * OMIT (Casado & Lopez 2023, "Face2PPG: An unsupervised pipeline for blood volume pulse extraction
 * from faces"): orthogonal projection away from the first column of the QR decomposition of the
 * 3 x T trace, that is the direction of the first frame's colour, green row.
 */
export function omitPulse(rgb: RgbTrace): Float64Array {
  const norm = Math.hypot(rgb[0]!, rgb[1]!, rgb[2]!) || 1;
  return greenOrthogonalTo(rgb, [rgb[0]! / norm, rgb[1]! / norm, rgb[2]! / norm]);
}

/**
 * PBV (de Haan & van Leest 2014, "Improved motion robustness of remote-PPG by using the blood volume
 * pulse signature"): colour normalised by its mean over the trace; the signature P is each channel's
 * standard deviation over their root sum of variances; the pulse is C' W / (P' W) with W = (C C')^-1 P.
 */
export function pbvPulse(rgb: RgbTrace): Float64Array {
  const n = rgb.length / 3;
  const c = [0, 1, 2].map((k) => {
    const x = channel(rgb, k);
    const m = mean(x);
    return x.map((v) => v / m);
  });
  const deviations = c.map(std);
  const norm = Math.sqrt(deviations.reduce((s, d) => s + d * d, 0)) || 1;
  const signature = Float64Array.from(deviations, (d) => d / norm);
  const q = new Float64Array(9);
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += c[a]![i]! * c[b]![i]!;
      q[a * 3 + b] = sum;
    }
  const w = solve(q, signature, 3);
  const scale = signature[0]! * w[0]! + signature[1]! * w[1]! + signature[2]! * w[2]!;
  return Float64Array.from(
    { length: n },
    (_, i) => (c[0]![i]! * w[0]! + c[1]![i]! * w[1]! + c[2]![i]! * w[2]!) / scale,
  );
}

/**
 * ICA (Poh, McDuff & Picard 2011, "Advancements in noncontact, multiparameter physiological
 * measurements using a webcam"): each channel detrended (smoothness priors, lambda 100) and
 * standardised, separated by JADE, and the source whose power spectrum has the highest normalised peak
 * taken as the pulse (the sign and scale of an ICA source are arbitrary).
 */
export function icaPulse(rgb: RgbTrace, fsHz: number): Float64Array {
  const standardised = [0, 1, 2].map((k) => {
    const x = detrendSmoothnessPriors(channel(rgb, k), 100);
    const m = mean(x);
    const s = std(x) || 1;
    return x.map((v) => (v - m) / s);
  });
  const sources = jadeSources(standardised);
  let best = sources[0]!;
  let bestPeak = -1;
  for (const source of sources) {
    const peak = normalisedSpectralPeak(source);
    if (peak > bestPeak) [best, bestPeak] = [source, peak];
  }
  return bandpassPulse(best, fsHz, 3);
}

/** The largest share of power held by one DFT bin (DC excluded), as ICA_POH ranks its sources. */
function normalisedSpectralPeak(x: Float64Array): number {
  const n = x.length;
  const cos = Float64Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * i) / n));
  const sin = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / n));
  let total = 0;
  let peak = 0;
  for (let k = 1; k <= Math.floor((n - 1) / 2); k++) {
    let re = 0;
    let im = 0;
    for (let i = 0, phase = 0; i < n; i++, phase = (phase + k) % n) {
      re += x[i]! * cos[phase]!;
      im -= x[i]! * sin[phase]!;
    }
    const power = re * re + im * im;
    total += power;
    peak = Math.max(peak, power);
  }
  return total > 0 ? peak / total : 0;
}

/** A method's raw pulse signal, before the post-processing every method shares. */
export function methodPulse(method: RppgMethod, rgb: RgbTrace, fsHz: number): Float64Array {
  switch (method) {
    case "pos":
      return posPulse(rgb, fsHz);
    case "chrom":
      return chromPulse(rgb, fsHz);
    case "omit":
      return omitPulse(rgb);
    case "lgi":
      return lgiPulse(rgb);
    case "pbv":
      return pbvPulse(rgb);
    case "ica":
      return icaPulse(rgb, fsHz);
    case "green":
      return greenPulse(rgb);
  }
}
