import type { SpanS } from "./ecg.ts";

/** One beat-to-beat interval between consecutive R peaks inside one finite stretch. */
export interface RrInterval {
  startS: number;
  endS: number;
}

export interface RrOptions {
  minHrBpm?: number;
  maxHrBpm?: number;
}

export interface RrResult {
  intervals: RrInterval[];
  /** Consecutive-beat pairs dropped because their rate lay outside [minHrBpm, maxHrBpm]. */
  rejected: number;
}

/**
 * RR intervals from R-peak times. Pairs are formed only inside one span, so no interval bridges a
 * gap in the recording; intervals whose rate lies outside 30-200 bpm (default) are rejected.
 */
export function rrIntervals(rPeakTimesS: number[], spansS: SpanS[], options: RrOptions = {}): RrResult {
  const minRrS = 60 / (options.maxHrBpm ?? 200);
  const maxRrS = 60 / (options.minHrBpm ?? 30);
  const intervals: RrInterval[] = [];
  let rejected = 0;
  for (const span of spansS) {
    const beats = rPeakTimesS.filter((t) => t >= span.startS && t < span.endS).sort((a, b) => a - b);
    for (let i = 1; i < beats.length; i++) {
      const rrS = beats[i]! - beats[i - 1]!;
      if (rrS >= minRrS && rrS <= maxRrS) intervals.push({ startS: beats[i - 1]!, endS: beats[i]! });
      else rejected++;
    }
  }
  intervals.sort((a, b) => a.startS - b.startS);
  return { intervals, rejected };
}

export interface FrameLabelOptions {
  frameCount: number;
  fps: number;
  /** Width of the window centred on each frame, in seconds. */
  windowS: number;
  /** Fewest RR intervals a window must hold for a label. */
  minIntervals?: number;
}

function firstIndex(n: number, predicate: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (predicate(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Per-frame heart rate: for the frame at t = k / fps, 60 / mean RR over the intervals lying wholly
 * inside [t - W/2, t + W/2]; null where fewer than 2 (default) intervals do.
 */
export function frameHeartRates(intervals: RrInterval[], options: FrameLabelOptions): (number | null)[] {
  const minIntervals = options.minIntervals ?? 2;
  const starts = intervals.map((rr) => rr.startS);
  const ends = intervals.map((rr) => rr.endS);
  const cumulative = new Float64Array(intervals.length + 1);
  intervals.forEach((rr, i) => {
    cumulative[i + 1] = cumulative[i]! + (rr.endS - rr.startS);
  });
  const half = options.windowS / 2;
  const hrBpm: (number | null)[] = new Array(options.frameCount);
  for (let k = 0; k < options.frameCount; k++) {
    const timeS = k / options.fps;
    const from = firstIndex(starts.length, (i) => starts[i]! >= timeS - half);
    // Interval ends increase with their starts (they are consecutive beats), so the last
    // interval ending inside the window bounds the run of intervals inside it.
    const to = firstIndex(ends.length, (i) => ends[i]! > timeS + half);
    const count = to - from;
    hrBpm[k] = count >= minIntervals ? 60 / ((cumulative[to]! - cumulative[from]!) / count) : null;
  }
  return hrBpm;
}
