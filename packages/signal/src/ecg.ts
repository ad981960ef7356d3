import { butterworthBandpass, butterworthLowpass, dcNotch, notch, sosFiltFilt } from "./filters.ts";

/** A stretch of finite samples, in seconds from the start of the recording: [startS, endS). */
export interface SpanS {
  startS: number;
  endS: number;
}

export interface RPeakOptions {
  /** Runs of finite samples shorter than this are not analysed (too short to tell beats from noise). */
  minSpanS?: number;
  /** Mains frequency to notch out; 0 disables. */
  mainsHz?: number;
  /** Force the lead polarity instead of detecting it: 1 R waves up, -1 R waves down. */
  polarity?: 1 | -1;
}

export interface RPeakResult {
  /** R-peak times in seconds, refined to sub-sample precision on the cleaned ECG. */
  rPeakTimesS: number[];
  /** 1 when R waves point up in the lead, -1 when the lead is inverted. */
  polarity: 1 | -1;
  /** The finite stretches that were analysed; no beat and no RR interval crosses between two. */
  spansS: SpanS[];
}

const refractoryS = 0.2;
const tWaveWindowS = 0.36;
const integrationWindowS = 0.15;
const searchBackFactor = 1.66;
const refineHalfWindowS = 0.08;

/** Runs of finite samples, as sample index ranges [start, end). */
export function finiteRuns(x: Float64Array): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= x.length; i++) {
    const finite = i < x.length && Number.isFinite(x[i]!);
    if (finite && start < 0) start = i;
    else if (!finite && start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}

/** Baseline wander removed with a 0 Hz notch, mains notched, muscle noise low-passed at 40 Hz. */
export function cleanEcg(ecg: Float64Array, fsHz: number, mainsHz = 50): Float64Array {
  let y = sosFiltFilt(dcNotch(0.5, fsHz), ecg, Math.round(fsHz * 2));
  if (mainsHz > 0 && mainsHz < fsHz / 2) y = sosFiltFilt(notch(mainsHz, 30, fsHz), y);
  if (40 < fsHz / 2 - 1) y = sosFiltFilt(butterworthLowpass(2, 40, fsHz), y);
  return y;
}

function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/** R waves are the largest deflections of a lead: negative extremes dominating means an inverted lead. */
export function leadPolarity(cleaned: Float64Array): 1 | -1 {
  return quantile(cleaned, 0.998) >= -quantile(cleaned, 0.002) ? 1 : -1;
}

/** Pan-Tompkins feature: band-passed (5-15 Hz), differentiated, squared and integrated over 150 ms, with no delay. */
function integratedEnergy(cleaned: Float64Array, fsHz: number): Float64Array {
  const band = sosFiltFilt(butterworthBandpass(2, 5, Math.min(15, fsHz / 2 - 1), fsHz), cleaned);
  const n = band.length;
  const squared = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d =
      (2 * (band[Math.min(n - 1, i + 1)]! - band[Math.max(0, i - 1)]!) +
        band[Math.min(n - 1, i + 2)]! -
        band[Math.max(0, i - 2)]!) /
      8;
    squared[i] = d * d;
  }
  const half = Math.max(1, Math.round((integrationWindowS * fsHz) / 2));
  const integrated = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < Math.min(n, half); i++) sum += squared[i]!;
  for (let i = 0; i < n; i++) {
    if (i + half < n) sum += squared[i + half]!;
    if (i - half - 1 >= 0) sum -= squared[i - half - 1]!;
    integrated[i] = sum / (2 * half + 1);
  }
  return integrated;
}

/** Local maxima of x, at least `minDistance` samples apart (the larger wins). */
function localMaxima(x: Float64Array, minDistance: number): number[] {
  const peaks: number[] = [];
  for (let i = 1; i < x.length - 1; i++) {
    if (x[i]! > x[i - 1]! && x[i]! >= x[i + 1]!) {
      const last = peaks[peaks.length - 1];
      if (last !== undefined && i - last < minDistance) {
        if (x[i]! > x[last]!) peaks[peaks.length - 1] = i;
      } else peaks.push(i);
    }
  }
  return peaks;
}

function maxSlope(cleaned: Float64Array, center: number, halfWidth: number): number {
  let best = 0;
  for (let i = Math.max(1, center - halfWidth); i <= Math.min(cleaned.length - 1, center + halfWidth); i++) {
    best = Math.max(best, Math.abs(cleaned[i]! - cleaned[i - 1]!));
  }
  return best;
}

/**
 * QRS detection with Pan-Tompkins decision rules on the integrated energy: a 200 ms refractory
 * period, adaptive signal and noise levels, T-wave discrimination by slope within 360 ms, and
 * search-back at half threshold when no beat came within 166% of the recent mean RR interval.
 * Returns the sample indices of the detected QRS energy peaks.
 */
function panTompkinsDecisions(energy: Float64Array, cleaned: Float64Array, fsHz: number): number[] {
  const refractory = Math.round(refractoryS * fsHz);
  const candidates = localMaxima(energy, refractory);
  if (candidates.length === 0) return [];
  const learning = energy.subarray(0, Math.min(energy.length, Math.round(2 * fsHz)));
  let signalLevel = Math.max(...learning) / 3;
  let noiseLevel = learning.reduce((s, v) => s + v, 0) / learning.length / 2;
  const threshold = () => noiseLevel + 0.25 * (signalLevel - noiseLevel);
  const slopeHalf = Math.round(0.075 * fsHz);
  const qrs: number[] = [];
  const recentRr: number[] = [];
  let lastSlope = 0;
  let candidateIndex = 0;

  const accept = (peak: number, weight: number) => {
    const previous = qrs[qrs.length - 1];
    if (previous !== undefined) {
      recentRr.push(peak - previous);
      if (recentRr.length > 8) recentRr.shift();
    }
    qrs.push(peak);
    lastSlope = maxSlope(cleaned, peak, slopeHalf);
    signalLevel = weight * energy[peak]! + (1 - weight) * signalLevel;
  };

  while (candidateIndex < candidates.length) {
    const peak = candidates[candidateIndex]!;
    const previous = qrs[qrs.length - 1];
    // Search-back: too long without a beat; take the largest skipped peak above half threshold.
    if (previous !== undefined && recentRr.length >= 2) {
      const meanRr = recentRr.reduce((s, v) => s + v, 0) / recentRr.length;
      if (peak - previous > searchBackFactor * meanRr) {
        let best = -1;
        for (let j = candidateIndex - 1; j >= 0 && candidates[j]! > previous; j--) {
          const c = candidates[j]!;
          if (
            c - previous >= refractory &&
            energy[c]! > threshold() / 2 &&
            (best < 0 || energy[c]! > energy[best]!)
          )
            best = c;
        }
        if (best >= 0 && peak - best >= refractory) {
          accept(best, 0.25);
          continue;
        }
      }
    }
    candidateIndex++;
    const value = energy[peak]!;
    if (previous !== undefined && peak - previous < refractory) continue;
    if (value > threshold()) {
      const slope = maxSlope(cleaned, peak, slopeHalf);
      const isTWave =
        previous !== undefined && peak - previous < tWaveWindowS * fsHz && slope < 0.5 * lastSlope;
      if (isTWave) noiseLevel = 0.125 * value + 0.875 * noiseLevel;
      else accept(peak, 0.125);
    } else {
      noiseLevel = 0.125 * value + 0.875 * noiseLevel;
    }
  }
  return qrs;
}

/** The R peak near a QRS energy peak: the extreme of the polarity-corrected ECG, with parabolic interpolation. */
function refinePeak(cleaned: Float64Array, polarity: 1 | -1, center: number, halfWidth: number): number {
  let best = Math.max(0, center - halfWidth);
  for (let i = best; i <= Math.min(cleaned.length - 1, center + halfWidth); i++) {
    if (polarity * cleaned[i]! > polarity * cleaned[best]!) best = i;
  }
  if (best <= 0 || best >= cleaned.length - 1) return best;
  const left = polarity * cleaned[best - 1]!;
  const mid = polarity * cleaned[best]!;
  const right = polarity * cleaned[best + 1]!;
  const curvature = left - 2 * mid + right;
  return curvature < 0 ? best + (0.5 * (left - right)) / curvature : best;
}

/**
 * R-peak detection for one ECG lead with NaN stretches: each finite stretch is cleaned and searched
 * on its own, so no beat is invented across a gap. The lead polarity is detected over all stretches
 * unless given.
 */
export function detectRPeaks(ecg: Float64Array, fsHz: number, options: RPeakOptions = {}): RPeakResult {
  const minSamples = Math.round((options.minSpanS ?? 2) * fsHz);
  const runs = finiteRuns(ecg).filter(([start, end]) => end - start >= minSamples);
  const cleanedRuns = runs.map(([start, end]) => cleanEcg(ecg.subarray(start, end), fsHz, options.mainsHz));
  const totalSamples = cleanedRuns.reduce((sum, run) => sum + run.length, 0);
  const all = new Float64Array(totalSamples);
  let offset = 0;
  for (const run of cleanedRuns) {
    all.set(run, offset);
    offset += run.length;
  }
  const polarity = options.polarity ?? (totalSamples > 0 ? leadPolarity(all) : 1);
  const halfWidth = Math.round(refineHalfWindowS * fsHz);
  const rPeakTimesS: number[] = [];
  runs.forEach(([start], r) => {
    const cleaned = cleanedRuns[r]!;
    const energy = integratedEnergy(cleaned, fsHz);
    const refined: number[] = [];
    for (const qrs of panTompkinsDecisions(energy, cleaned, fsHz)) {
      const peak = refinePeak(cleaned, polarity, qrs, halfWidth);
      const last = refined[refined.length - 1];
      if (last !== undefined && peak - last < refractoryS * fsHz) {
        if (polarity * cleaned[Math.round(peak)]! > polarity * cleaned[Math.round(last)]!)
          refined[refined.length - 1] = peak;
      } else refined.push(peak);
    }
    for (const peak of refined) rPeakTimesS.push((start + peak) / fsHz);
  });
  return {
    rPeakTimesS,
    polarity,
    spansS: runs.map(([start, end]) => ({ startS: start / fsHz, endS: end / fsHz })),
  };
}
