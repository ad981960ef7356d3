import { median } from "./metrics.ts";

/**
 * Samples taken at irregular times (a phone camera's frames, a dataset's timestamp file) put on a
 * uniform grid by linear interpolation, so that spectra mean what they say: a frame rate that varies
 * by 10% smears a heart rate by as much.
 */
export interface UniformSeries {
  fsHz: number;
  /** Time of the first sample, in the input's time base (seconds). */
  startS: number;
  /** [samples, channels] row-major. */
  values: Float64Array;
}

/** The intervals between successive sample times, s; repeated timestamps give none. */
function positiveSteps(timeS: ArrayLike<number>): number[] {
  return Array.from({ length: timeS.length - 1 }, (_, i) => timeS[i + 1]! - timeS[i]!).filter(
    (step) => step > 0,
  );
}

/** The median rate of a series of sample times, in Hz. */
export function medianRateHz(timeS: ArrayLike<number>): number {
  return 1 / median(positiveSteps(timeS));
}

/**
 * The rate a camera ran at between the frames it dropped, in Hz, from its frames' timestamps: the mean
 * of the intervals shorter than 1.8 times the median one. A dropped frame leaves an interval of about
 * two; the average over the whole recording (frames / span) counts those gaps in, and then runs low by
 * the share of time lost to them (UBFC-rPPG: 29.5 Hz on average from a camera that runs at 29.7-30.1 Hz
 * between its gaps). Timestamps taken on arrival jitter: +/-5 ms in UBFC-rPPG's, and PhysRecorder's fall
 * on a 16-ms tick (32 and 48 ms at 30 fps, 1.5 times the median), so the limit stays clear of 1.5 and
 * the mean, not the median, gives the rate.
 */
export function steadyRateHz(timeS: ArrayLike<number>): number {
  const steps = positiveSteps(timeS);
  const limit = 1.8 * median(steps);
  const steady = steps.filter((step) => step < limit);
  return steady.length / steady.reduce((sum, step) => sum + step, 0);
}

/**
 * Resamples `values` ([samples, channels]) taken at increasing `timeS` onto a grid at fsHz from the
 * first sample time to the last. Repeated timestamps keep the later sample.
 */
export function resampleUniform(
  timeS: ArrayLike<number>,
  values: ArrayLike<number>,
  channels: number,
  fsHz: number,
): UniformSeries {
  const n = timeS.length;
  if (n < 2) throw new RangeError(`resampling needs at least 2 samples, got ${n}.`);
  for (let i = 1; i < n; i++)
    if (!(timeS[i]! >= timeS[i - 1]!))
      throw new RangeError(
        `sample times must not decrease (sample ${i}: ${timeS[i]} after ${timeS[i - 1]}).`,
      );
  const startS = timeS[0]!;
  const count = sampleCount(timeS[n - 1]! - startS, fsHz, "down") + 1;
  const out = new Float64Array(count * channels);
  let j = 0;
  for (let k = 0; k < count; k++) {
    const t = startS + k / fsHz;
    while (j < n - 2 && timeS[j + 1]! <= t) j++;
    const span = timeS[j + 1]! - timeS[j]!;
    const a = span > 0 ? Math.min(1, Math.max(0, (t - timeS[j]!) / span)) : 1;
    for (let c = 0; c < channels; c++)
      out[k * channels + c] = values[j * channels + c]! * (1 - a) + values[(j + 1) * channels + c]! * a;
  }
  return { fsHz, startS, values: out };
}

/**
 * Whole samples in `durationS` at `fsHz`. A product within 1e-6 of a whole number is that number, so
 * floating-point noise does not flip a count (1.6 s at 30.000000000000004 Hz is 48 samples, not 49);
 * any other product is rounded up or down as `rounding` says.
 */
export function sampleCount(durationS: number, fsHz: number, rounding: "up" | "down"): number {
  const exact = durationS * fsHz;
  const nearest = Math.round(exact);
  if (Math.abs(exact - nearest) < 1e-6) return nearest;
  return rounding === "up" ? Math.ceil(exact) : Math.floor(exact);
}
