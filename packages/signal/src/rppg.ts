import { detrendSmoothnessPriors } from "./detrend.ts";
import { bandpassPulse, methodPulse, pulseBandHz, type RgbTrace, type RppgMethod } from "./methods/index.ts";
import { median } from "./metrics.ts";
import {
  bandSpectrum,
  harmonicScore,
  refinePeakHz,
  spectralSnr,
  spectrumGrid,
  viterbiTrack,
} from "./pulse-rate.ts";

/**
 * The pulse signal of a method, post-processed alike for every method: smoothness-priors detrending
 * and a zero-phase 0.7-3 Hz band-pass over the whole run, so that slow motion and illumination
 * changes that leak through a method's short windows do not masquerade as a heart rate.
 */
export function rppgPulse(
  method: RppgMethod,
  rgb: RgbTrace,
  fsHz: number,
  band: { low: number; high: number } = pulseBandHz,
): Float64Array {
  return cleanPulse(methodPulse(method, rgb, fsHz), fsHz, band);
}

/** Any raw pulse (a method's, a network's) detrended and band-passed as every method's is. */
export function cleanPulse(
  raw: Float64Array,
  fsHz: number,
  band: { low: number; high: number } = pulseBandHz,
): Float64Array {
  return bandpassPulse(detrendSmoothnessPriors(raw), fsHz, 2, band);
}

/**
 * What a heart rate is measured from: a number of frames, which of them are usable (a face, a finite
 * colour), and the raw pulse over any run of usable frames [from, to), before cleanPulse.
 */
export interface PulseSource {
  frames: number;
  usable(frame: number): boolean;
  rawPulse(from: number, to: number): Float64Array;
}

/** The runs [from, to) of consecutive usable frames of a source (a face found, a finite colour). */
export function usableRuns(source: PulseSource): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < source.frames; ) {
    if (!source.usable(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j < source.frames && source.usable(j)) j++;
    runs.push([i, j]);
    i = j;
  }
  return runs;
}

/** A method's pulse source over a mean-colour trace. */
export function methodSource(
  method: RppgMethod,
  rgb: RgbTrace,
  faceFound: ArrayLike<number>,
  fsHz: number,
): PulseSource {
  return {
    frames: rgb.length / 3,
    usable: (i) => Boolean(faceFound[i]) && Number.isFinite(rgb[i * 3]!),
    rawPulse: (from, to) => methodPulse(method, rgb.subarray(from * 3, to * 3), fsHz),
  };
}

export interface RppgWindow {
  startS: number;
  endS: number;
  /** null where the window is not wholly covered by frames with a face. */
  hrBpm: number | null;
  /** The pulse's SNR at hrBpm (de Haan & Jeanne), the signal-quality index. */
  snrDb: number | null;
  /** The share of the band's power at hrBpm and its harmonic, 0-1. */
  confidence: number | null;
  /** snrDb below the quality floor: reported, not dropped, and left out of a video's heart rate. */
  lowQuality: boolean;
}

export interface RppgOptions {
  windowS?: number;
  strideS?: number;
  /** Viterbi tracking's standard deviation of the heart rate's change, bpm per second. */
  changeBpmPerS?: number;
  /** Windows whose SNR falls below this are flagged low quality. */
  minSnrDb?: number;
  /** The harmonic check's weight of the power at twice a candidate rate. */
  harmonicWeight?: number;
}

export const rppgDefaults = {
  windowS: 10,
  strideS: 1,
  changeBpmPerS: 3,
  minSnrDb: -10,
  harmonicWeight: 0,
} as const;

/**
 * Heart rate per analysis window (default 10 s every 1 s). The method's pulse signal is extracted
 * separately in each run of frames with a face (a frame without one breaks the signal, and a window
 * that is not wholly inside one run has no estimate); each window's 0.7-3 Hz spectrum, with the
 * harmonic check, scores every candidate rate, and a Viterbi path through the run's windows picks one.
 */
export function rppgHeartRate(
  method: RppgMethod,
  rgb: RgbTrace,
  faceFound: ArrayLike<number>,
  fsHz: number,
  options: RppgOptions = {},
): RppgWindow[] {
  return pulseHeartRate(methodSource(method, rgb, faceFound, fsHz), fsHz, options);
}

/** Heart rate per analysis window from any pulse source, as rppgHeartRate measures a method's. */
export function pulseHeartRate(source: PulseSource, fsHz: number, options: RppgOptions = {}): RppgWindow[] {
  const { windowS, strideS, changeBpmPerS, minSnrDb, harmonicWeight } = { ...rppgDefaults, ...options };
  const frames = source.frames;
  const windowFrames = Math.round(windowS * fsHz);
  const strideFrames = Math.max(1, Math.round(strideS * fsHz));
  const band = { low: pulseBandHz.low, high: Math.min(pulseBandHz.high, fsHz / 2 - 0.1) };
  const grid = spectrumGrid(fsHz, band.low, band.high);
  // The harmonic check looks at twice each candidate rate, beyond the heart-rate band.
  const wideBand = { low: band.low, high: Math.min(2 * band.high, fsHz / 2 - 0.1) };
  const wideGrid = spectrumGrid(fsHz, wideBand.low, wideBand.high);
  const windows: RppgWindow[] = [];
  for (let start = 0; start + windowFrames <= frames; start += strideFrames)
    windows.push({
      startS: start / fsHz,
      endS: (start + windowFrames) / fsHz,
      hrBpm: null,
      snrDb: null,
      confidence: null,
      lowQuality: false,
    });
  for (const [from, to] of usableRuns(source)) {
    const inRun = windows
      .map((_, w) => w)
      .filter((w) => w * strideFrames >= from && w * strideFrames + windowFrames <= to);
    if (inRun.length === 0) continue;
    const raw = source.rawPulse(from, to);
    const pulse = cleanPulse(raw, fsHz);
    const widePulse = harmonicWeight > 0 ? cleanPulse(raw, fsHz, wideBand) : undefined;
    const segment = (signal: Float64Array, w: number) => {
      const offset = w * strideFrames - from;
      return signal.subarray(offset, offset + windowFrames);
    };
    const spectra = inRun.map((w) => bandSpectrum(segment(pulse, w), fsHz, grid));
    const scores = widePulse
      ? inRun.map((w) =>
          harmonicScore(
            bandSpectrum(segment(widePulse, w), fsHz, wideGrid),
            wideGrid,
            grid.gridHz.length,
            harmonicWeight,
          ),
        )
      : spectra;
    const path = viterbiTrack(scores, grid, strideFrames / fsHz, { changeBpmPerS });
    for (const [n, w] of inRun.entries()) {
      const hz = refinePeakHz(spectra[n]!, grid, path[n]!);
      const snr = spectralSnr(spectra[n]!, grid, hz);
      const snrDb = 10 * Math.log10(Math.max(snr, 1e-12));
      windows[w] = {
        ...windows[w]!,
        hrBpm: hz * 60,
        snrDb,
        confidence: snr / (1 + snr),
        lowQuality: snrDb < minSnrDb,
      };
    }
  }
  return windows;
}

/** A video's heart rate by one method: the whole video's rate and the windows it comes from. */
export interface RppgVideoEstimate {
  /** The median of the windows above the quality floor (of all windows where none is), null without any. */
  hrBpm: number | null;
  windows: RppgWindow[];
}

/**
 * The whole video's heart rate as the median of its tracked windows: a rate that changes during the
 * video (UBFC-rPPG's subjects speed up as they play) has no single spectral peak, and a median
 * ignores the minority of windows that lost the pulse. Low-quality windows are kept in the list, flagged.
 */
export function rppgVideoEstimate(
  method: RppgMethod,
  rgb: RgbTrace,
  faceFound: ArrayLike<number>,
  fsHz: number,
  options: RppgOptions = {},
): RppgVideoEstimate {
  return pulseVideoEstimate(methodSource(method, rgb, faceFound, fsHz), fsHz, options);
}

/** A video's heart rate from any pulse source, as rppgVideoEstimate gives a method's. */
export function pulseVideoEstimate(
  source: PulseSource,
  fsHz: number,
  options: RppgOptions = {},
): RppgVideoEstimate {
  const windows = pulseHeartRate(source, fsHz, options);
  const estimated = windows.filter((w) => w.hrBpm !== null);
  const trusted = estimated.filter((w) => !w.lowQuality);
  const rates = (trusted.length > 0 ? trusted : estimated).map((w) => w.hrBpm!);
  return { hrBpm: rates.length === 0 ? null : median(rates), windows };
}
