import { pulseBandHz } from "./methods/index.ts";
import { median } from "./metrics.ts";
import { elgendiSystolicPeaks, guidedBeats } from "./ppg.ts";
import { cleanPulse, type PulseSource, type RppgWindow, usableRuns } from "./rppg.ts";

/**
 * Beats, beat-to-beat intervals and heart-rate variability from a pulse waveform (an rPPG method's,
 * a network's, or a reference PPG), with the heart rate tracked over the same recording as a prior:
 * it says how far apart beats can be, so that a dicrotic wave or a noisy stretch neither adds nor
 * drops beats silently. Intervals that cannot be a sinus beat's are flagged, never removed, and the
 * metrics say what share of them was.
 */

/** The beat interval a tracked heart rate implies at a time, seconds. */
export type ExpectedRr = (timeS: number) => number;

/** The beat interval the window nearest a time tracked; undefined where no window has a rate. */
export function trackedRrS(windows: RppgWindow[]): ExpectedRr | undefined {
  const tracked = windows.filter((w) => w.hrBpm !== null);
  if (tracked.length === 0) return undefined;
  const centreS = (w: RppgWindow) => (w.startS + w.endS) / 2;
  return (timeS) => {
    let nearest = tracked[0]!;
    for (const w of tracked)
      if (Math.abs(centreS(w) - timeS) < Math.abs(centreS(nearest) - timeS)) nearest = w;
    return 60 / nearest.hrBpm!;
  };
}

/** Beat times (s) of a pulse waveform sampled at fsHz: its systolic peaks, between samples, guided by the prior. */
export function pulseBeats(pulse: Float64Array, fsHz: number, expectedRrS: ExpectedRr): number[] {
  return guidedBeats(elgendiSystolicPeaks(pulse, fsHz, { subSample: true }), expectedRrS);
}

export interface BeatInterval {
  /** The interval's first and second beat, seconds. */
  startS: number;
  endS: number;
  ibiMs: number;
  /**
   * More than 30% away from the interval the tracked rate implies (a missed or an extra beat), or
   * more than 20% away from the median of its neighbours (five on each side): not a sinus beat.
   */
  artefact: boolean;
}

/** The intervals between successive beats, each flagged where it cannot be a sinus beat's. */
export function beatIntervals(beatsS: number[], expectedRrS: ExpectedRr): BeatInterval[] {
  const raw = beatsS.slice(1).map((endS, i) => ({ startS: beatsS[i]!, endS, ibiS: endS - beatsS[i]! }));
  return raw.map(({ startS, endS, ibiS }, i) => {
    const expected = expectedRrS((startS + endS) / 2);
    const neighbours = [...raw.slice(Math.max(0, i - 5), i), ...raw.slice(i + 1, i + 6)].map((r) => r.ibiS);
    const local = neighbours.length > 0 ? median(neighbours) : ibiS;
    return {
      startS,
      endS,
      ibiMs: ibiS * 1000,
      artefact: Math.abs(ibiS / expected - 1) > 0.3 || Math.abs(ibiS / local - 1) > 0.2,
    };
  });
}

export interface HrvMetrics {
  /** Mean of the clean intervals, ms. */
  meanIbiMs: number | null;
  /** Standard deviation of the clean intervals, ms. */
  sdnnMs: number | null;
  /** Root mean square of the differences of successive clean intervals (sharing a beat), ms. */
  rmssdMs: number | null;
  /** Share of those successive differences above 50 ms, 0-1. */
  pnn50: number | null;
  /** Intervals in the span, and the share of them flagged as artefacts. */
  intervals: number;
  flaggedShare: number | null;
}

/**
 * Time-domain HRV of the intervals that lie in [startS, endS) (all of them by default), from the
 * clean ones; null where fewer than three clean intervals (or two successive pairs) exist.
 */
export function hrvMetrics(intervals: BeatInterval[], startS = -Infinity, endS = Infinity): HrvMetrics {
  const inside = intervals.filter((i) => i.startS >= startS && i.endS <= endS);
  const clean = inside.filter((i) => !i.artefact).map((i) => i.ibiMs);
  const differences: number[] = [];
  for (let k = 1; k < inside.length; k++) {
    const [previous, current] = [inside[k - 1]!, inside[k]!];
    if (!previous.artefact && !current.artefact && previous.endS === current.startS)
      differences.push(current.ibiMs - previous.ibiMs);
  }
  const meanIbiMs = clean.length >= 3 ? clean.reduce((s, v) => s + v, 0) / clean.length : null;
  return {
    meanIbiMs,
    sdnnMs:
      meanIbiMs === null
        ? null
        : Math.sqrt(clean.reduce((s, v) => s + (v - meanIbiMs) ** 2, 0) / (clean.length - 1)),
    rmssdMs:
      differences.length >= 2
        ? Math.sqrt(differences.reduce((s, d) => s + d * d, 0) / differences.length)
        : null,
    pnn50:
      differences.length >= 2
        ? differences.filter((d) => Math.abs(d) > 50).length / differences.length
        : null,
    intervals: inside.length,
    flaggedShare: inside.length > 0 ? (inside.length - clean.length) / inside.length : null,
  };
}

/** Beats matched to reference beats within a tolerance: each reference beat matches at most one. */
export interface BeatMatch {
  /** Matched beats over reference beats (sensitivity) and over detected beats (positive predictivity). */
  sensitivity: number;
  positivePredictivity: number;
  matched: number;
  /** Median of detected minus reference time over the matches, s. */
  medianLagS: number | null;
}

/** Greedy in time order: a detected beat matches the nearest unmatched reference beat within toleranceS. */
export function matchBeats(detectedS: number[], referenceS: number[], toleranceS = 0.15): BeatMatch {
  const lags: number[] = [];
  let r = 0;
  const used = new Uint8Array(referenceS.length);
  for (const beat of detectedS) {
    while (r < referenceS.length && referenceS[r]! < beat - toleranceS) r++;
    let best = -1;
    for (let k = r; k < referenceS.length && referenceS[k]! <= beat + toleranceS; k++)
      if (!used[k] && (best < 0 || Math.abs(referenceS[k]! - beat) < Math.abs(referenceS[best]! - beat)))
        best = k;
    if (best >= 0) {
      used[best] = 1;
      lags.push(beat - referenceS[best]!);
    }
  }
  return {
    sensitivity: referenceS.length > 0 ? lags.length / referenceS.length : 0,
    positivePredictivity: detectedS.length > 0 ? lags.length / detectedS.length : 0,
    matched: lags.length,
    medianLagS: lags.length > 0 ? median(lags) : null,
  };
}

/** HRV over a whole recording and over consecutive spans of it. */
export interface RecordingHrv {
  whole: HrvMetrics;
  /** Consecutive spans of `spanS` (60 s by default) from the first frame. */
  spans: (HrvMetrics & { startS: number; endS: number })[];
}

/** The HRV of a recording's intervals: over the whole of its `durationS` and per span of `spanS`. */
export function recordingHrv(intervals: BeatInterval[], durationS: number, spanS = 60): RecordingHrv {
  const spans: RecordingHrv["spans"] = [];
  for (let startS = 0; startS + spanS <= durationS + 1e-9; startS += spanS)
    spans.push({ startS, endS: startS + spanS, ...hrvMetrics(intervals, startS, startS + spanS) });
  return { whole: hrvMetrics(intervals), spans };
}

/** HRV of a pulse source over the whole recording and over consecutive spans of it. */
export interface PulseHrv extends RecordingHrv {
  beatsS: number[];
  intervals: BeatInterval[];
}

/**
 * Beats from rPPG against a reference's beats (PPG systolic peaks, ECG R peaks): matched within
 * 150 ms after the recording's median lag is taken out (beats paired within 0.4 s; the face's pulse
 * reaches the camera before the finger's reaches an oximeter, and that transit is not a beat error),
 * and the two recordings' HRV compared.
 */
export interface BeatAgreement {
  sensitivity: number;
  positivePredictivity: number;
  lagMs: number | null;
  meanIbiErrorMs: number | null;
  rmssdErrorMs: number | null;
}

export function beatAgreement(
  detected: { beatsS: number[]; whole: HrvMetrics },
  reference: { beatsS: number[]; whole: HrvMetrics },
): BeatAgreement {
  const lagS = matchBeats(detected.beatsS, reference.beatsS, 0.4).medianLagS ?? 0;
  const match = matchBeats(
    detected.beatsS.map((t) => t - lagS),
    reference.beatsS,
    0.15,
  );
  const error = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.abs(a - b));
  return {
    sensitivity: match.sensitivity,
    positivePredictivity: match.positivePredictivity,
    lagMs: detected.beatsS.length > 0 && reference.beatsS.length > 0 ? lagS * 1000 : null,
    meanIbiErrorMs: error(detected.whole.meanIbiMs, reference.whole.meanIbiMs),
    rmssdErrorMs: error(detected.whole.rmssdMs, reference.whole.rmssdMs),
  };
}

export interface PulseHrvOptions {
  /** -1 for a pulse that falls as blood volume rises (bloodVolumeSign), so that beats are systolic peaks. */
  sign?: 1 | -1;
  /** Length of the spans measured besides the whole recording, seconds. */
  spanS?: number;
}

/**
 * Respiratory sinus arrhythmia, the variability RMSSD mostly measures, moves the beat rate at the
 * breathing rate (0.2-0.33 Hz at rest): the pulse's variation lies within about that much of the
 * rates it was tracked at, and the rest of the heart-rate band is noise that jitters the beats. A
 * sweep of 0.15-0.4 Hz over the development recordings (7 UBFC-rPPG videos and PhysRecorder) put the
 * lowest mean RMSSD error at 0.25 Hz for POS and CHROM alike: narrower bands smooth the variability
 * away, wider ones let noise move the peaks (`pnpm bench hrv`, POS: UBFC 13.8 ms against 15.6 at 0.4 Hz,
 * PhysRecorder 12.7 against 39.5).
 */
export const beatBandMarginHz = 0.25;

/** The band beats are found in: the 5th to 95th percentile of the tracked rates, widened by beatBandMarginHz. */
export function beatBandHz(windows: RppgWindow[]): { low: number; high: number } {
  const confident = windows.filter((w) => w.hrBpm !== null && !w.lowQuality);
  const rates = (confident.length > 0 ? confident : windows.filter((w) => w.hrBpm !== null))
    .map((w) => w.hrBpm! / 60)
    .sort((a, b) => a - b);
  const at = (q: number) => rates[Math.min(rates.length - 1, Math.floor(q * rates.length))]!;
  return {
    low: Math.max(pulseBandHz.low, at(0.05) - beatBandMarginHz),
    high: Math.min(pulseBandHz.high, at(0.95) + beatBandMarginHz),
  };
}

/**
 * Beats and HRV of a pulse source (a method's or a network's), with the heart rate its windows
 * tracked as the prior: each run of usable frames is detrended and band-passed as for the heart rate
 * but in the band the tracked rates allow (beatBandHz), oriented, its systolic peaks found and guided,
 * and its intervals flagged; intervals never span a gap.
 */
export function pulseHrv(
  source: PulseSource,
  fsHz: number,
  windows: RppgWindow[],
  { sign = 1, spanS = 60 }: PulseHrvOptions = {},
): PulseHrv {
  const beatsS: number[] = [];
  const intervals: BeatInterval[] = [];
  const expectedRrS = trackedRrS(windows);
  const minimumRun = Math.round(3 * fsHz);
  const band = expectedRrS && beatBandHz(windows);
  for (const [from, to] of expectedRrS ? usableRuns(source) : []) {
    if (to - from < minimumRun) continue;
    const offsetS = from / fsHz;
    const pulse = cleanPulse(source.rawPulse(from, to), fsHz, band).map((v) => sign * v);
    const runBeats = pulseBeats(pulse, fsHz, (t) => expectedRrS!(t + offsetS)).map((t) => t + offsetS);
    beatsS.push(...runBeats);
    intervals.push(...beatIntervals(runBeats, expectedRrS!));
  }
  return { beatsS, intervals, ...recordingHrv(intervals, source.frames / fsHz, spanS) };
}
