/** A heart whose rate drifts smoothly: the shared truth behind a synthetic video's pulse and its ECG. */
export interface HeartRateTrajectory {
  /** Heart rate at time t (s), in bpm. */
  hrBpmAt(timeS: number): number;
}

export interface HeartSpec {
  meanBpm: number;
  /** Slow sinusoidal swing around the mean, bpm. */
  swingBpm: number;
  swingPeriodS: number;
  phase: number;
}

export function heartTrajectory(spec: HeartSpec): HeartRateTrajectory {
  return {
    hrBpmAt: (timeS) =>
      spec.meanBpm + spec.swingBpm * Math.sin((2 * Math.PI * timeS) / spec.swingPeriodS + spec.phase),
  };
}

/**
 * Cardiac phase (in beats) sampled at fsHz over durationS: the integral of HR / 60. Beat n happens
 * where the phase crosses n; the pulse wave and the ECG both follow it.
 */
export function cardiacPhase(heart: HeartRateTrajectory, durationS: number, fsHz: number): Float64Array {
  const n = Math.round(durationS * fsHz);
  const phase = new Float64Array(n);
  for (let i = 1; i < n; i++) phase[i] = phase[i - 1]! + heart.hrBpmAt((i - 0.5) / fsHz) / 60 / fsHz;
  return phase;
}

/** Times (s) at which the phase crosses each whole number: the beats, with linear interpolation. */
export function beatTimesS(phase: Float64Array, fsHz: number, offsetBeats = 0): number[] {
  const beats: number[] = [];
  for (let i = 1; i < phase.length; i++) {
    const a = phase[i - 1]! + offsetBeats;
    const b = phase[i]! + offsetBeats;
    if (Math.floor(b) > Math.floor(a)) beats.push((i - 1 + (Math.floor(b) - a) / (b - a)) / fsHz);
  }
  return beats;
}

/**
 * A blood-volume pulse in [-1, 1] from the cardiac phase: a steep systolic rise and a dicrotic notch,
 * the shape of a fingertip or facial PPG. Peaks trail the R peak (phase 0) by a transit time.
 */
export function pulseWave(phase: number, transitBeats = 0.25): number {
  const p = phase - transitBeats;
  const x = 2 * Math.PI * p;
  return (Math.sin(x) + 0.35 * Math.sin(2 * x - 0.6) + 0.12 * Math.sin(3 * x - 1.1)) / 1.3;
}
