import { detrendSmoothnessPriors } from "./detrend.ts";
import { butterworthBandpass, sosFiltFilt } from "./filters.ts";
import { bandpassPulse, pulseBandHz } from "./methods/index.ts";
import { peakFrequency, periodogram } from "./spectrum.ts";

/**
 * Systolic peaks of a PPG waveform by Elgendi's two event-related moving averages: M. Elgendi,
 * I. Norton, M. Brearley, D. Abbott, D. Schuurmans, "Systolic Peak Detection in Acceleration
 * Photoplethysmograms Measured from Emergency Responders in Tropical Conditions", PLoS ONE 8(10):
 * e76585, 2013. The waveform is band-passed (0.5-8 Hz, 2nd-order Butterworth, zero phase), clipped
 * at zero and squared; blocks where its 111-ms moving average exceeds its 667-ms moving average plus
 * beta (0.02) times its mean, and that are at least 111 ms wide, each hold one beat: the band-passed
 * waveform's maximum in the block. Systolic peaks are maxima: pass an intensity trace (a camera's
 * pixel brightness falls as blood volume rises) negated.
 */
export interface ElgendiOptions {
  peakWindowS?: number;
  beatWindowS?: number;
  beta?: number;
  /**
   * Place each peak between samples by a parabola through the maximum and its neighbours: at a
   * camera's 30 Hz a sample is 33 ms, as much as the beat-to-beat differences HRV measures.
   */
  subSample?: boolean;
}

/** Centred moving average over `width` samples (shrinking at the edges). */
function movingAverage(x: Float64Array, width: number): Float64Array {
  const half = Math.floor(width / 2);
  const cumulative = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) cumulative[i + 1] = cumulative[i]! + x[i]!;
  return Float64Array.from({ length: x.length }, (_, i) => {
    const from = Math.max(0, i - half);
    const to = Math.min(x.length, i - half + width);
    return (cumulative[to]! - cumulative[from]!) / (to - from);
  });
}

export interface SystolicPeak {
  timeS: number;
  /** The band-passed waveform's value at the peak. */
  amplitude: number;
}

/** Systolic peaks of a PPG waveform sampled at fsHz, in time order. */
export function elgendiSystolicPeaks(
  ppg: Float64Array,
  fsHz: number,
  options: ElgendiOptions = {},
): SystolicPeak[] {
  const peakWidth = Math.max(1, Math.round((options.peakWindowS ?? 0.111) * fsHz));
  const beatWidth = Math.max(1, Math.round((options.beatWindowS ?? 0.667) * fsHz));
  const beta = options.beta ?? 0.02;
  if (ppg.length < 3 * beatWidth) return [];
  const filtered = sosFiltFilt(butterworthBandpass(2, 0.5, Math.min(8, fsHz / 2 - 0.5), fsHz), ppg);
  const squared = filtered.map((v) => (v > 0 ? v * v : 0));
  const peakAverage = movingAverage(squared, peakWidth);
  const beatAverage = movingAverage(squared, beatWidth);
  const offset = beta * (squared.reduce((s, v) => s + v, 0) / squared.length);
  const peaks: SystolicPeak[] = [];
  for (let i = 0; i < filtered.length; ) {
    if (!(peakAverage[i]! > beatAverage[i]! + offset)) {
      i++;
      continue;
    }
    let end = i;
    while (end < filtered.length && peakAverage[end]! > beatAverage[end]! + offset) end++;
    if (end - i >= peakWidth) {
      let best = i;
      for (let k = i; k < end; k++) if (filtered[k]! > filtered[best]!) best = k;
      let offset = 0;
      if (options.subSample && best > 0 && best + 1 < filtered.length) {
        const [left, centre, right] = [filtered[best - 1]!, filtered[best]!, filtered[best + 1]!];
        const curvature = left - 2 * centre + right;
        if (curvature < 0) offset = (0.5 * (left - right)) / curvature;
      }
      peaks.push({ timeS: (best + offset) / fsHz, amplitude: filtered[best]! });
    }
    i = end;
  }
  return peaks;
}

/**
 * Beats cleaned with a rate as a guide (the recording's spectral rate, or a rate tracked over time):
 * of two peaks closer than 70% of the expected beat interval there (a dicrotic wave or noise counted
 * as a beat, the detector's commonest error at low rates), the larger is kept. Returns the kept beat times.
 */
export function guidedBeats(
  peaks: SystolicPeak[],
  expectedRrS: number | ((timeS: number) => number),
): number[] {
  const expectedAt = typeof expectedRrS === "number" ? () => expectedRrS : expectedRrS;
  const kept: SystolicPeak[] = [];
  for (const peak of peaks) {
    const last = kept[kept.length - 1];
    if (last && peak.timeS - last.timeS < 0.7 * expectedAt((peak.timeS + last.timeS) / 2)) {
      if (peak.amplitude > last.amplitude) kept[kept.length - 1] = peak;
    } else kept.push(peak);
  }
  return kept.map((peak) => peak.timeS);
}

export interface PpgRate {
  /** 60 / mean beat interval, over intervals within 30% of the spectral rate's; null without any. */
  beatsHrBpm: number | null;
  /** The waveform's spectral peak in the pulse band. */
  spectrumHrBpm: number;
  /**
   * Fewer than 60% of the beat intervals the spectral rate implies were found near it, or the beats'
   * and the spectrum's rates differ by more than 10%: missed or extra beats, noise or a harmonic.
   */
  lowQuality: boolean;
  beatTimesS: number[];
}

/** The spectral peak of a detrended, band-passed pulse waveform in the pulse band, bpm. */
export function spectralHrBpm(pulse: Float64Array, fsHz: number): number {
  return (
    peakFrequency(
      periodogram(bandpassPulse(detrendSmoothnessPriors(pulse), fsHz), fsHz),
      pulseBandHz.low,
      pulseBandHz.high,
    ) * 60
  );
}

/**
 * Heart rate of a stretch of PPG (a label window or a whole recording), from its beats and from its
 * spectrum: the spectrum gives the expected beat interval, the beats the rate (they follow a rate that
 * changes within the stretch, where a spectrum smears it), and disagreement flags the stretch.
 */
export function ppgHeartRate(ppg: Float64Array, fsHz: number): PpgRate {
  const spectrumHrBpm = spectralHrBpm(ppg, fsHz);
  const expectedRrS = 60 / spectrumHrBpm;
  const beatTimesS = guidedBeats(elgendiSystolicPeaks(ppg, fsHz), expectedRrS);
  const intervals: number[] = [];
  for (let i = 1; i < beatTimesS.length; i++) {
    const rrS = beatTimesS[i]! - beatTimesS[i - 1]!;
    // A missed beat leaves an interval near twice the expected one: left out, not averaged in.
    if (Math.abs(rrS - expectedRrS) <= 0.3 * expectedRrS) intervals.push(rrS);
  }
  const beatsHrBpm =
    intervals.length === 0 ? null : 60 / (intervals.reduce((s, v) => s + v, 0) / intervals.length);
  const expectedIntervals = ppg.length / fsHz / expectedRrS - 1;
  return {
    beatsHrBpm,
    spectrumHrBpm,
    lowQuality:
      beatsHrBpm === null ||
      intervals.length < 0.6 * expectedIntervals ||
      Math.abs(beatsHrBpm - spectrumHrBpm) > 0.1 * spectrumHrBpm,
    beatTimesS,
  };
}
