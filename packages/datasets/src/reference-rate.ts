import {
  detectRPeaks,
  elgendiSystolicPeaks,
  guidedBeats,
  medianRateHz,
  ppgHeartRate,
  resampleUniform,
  rrIntervals,
  sampleCount,
  spectralHrBpm,
  steadyRateHz,
  toolkitVideoHeartRateBpm,
} from "@hrpipe/signal";
import type { ReferenceSignal } from "./layout.ts";

/**
 * A reference signal as heart rates on the video's clock: per stretch of video time and for the
 * whole recording, whatever its kind. Every sample time is first carried to video time (through the
 * frames' own timestamps where the dataset has them), so that the reference is measured in the same
 * time base as the video's pulse: a UBFC waveform sampled with every frame lines up frame for frame,
 * however irregular the capture was. Waveforms are then put on a uniform grid at their median rate;
 * ECG gives R peaks (Pan-Tompkins), PPG systolic peaks (Elgendi) and its spectrum; HR traces are
 * averaged; RR intervals are averaged by the stretch they fall in.
 */
export class ReferenceRate {
  private readonly videoTimeS: Float64Array;
  private readonly beatsS: number[] | undefined;
  private readonly uniform: { fsHz: number; startS: number; values: Float64Array } | undefined;

  /**
   * @param signal the reference on its own clock
   * @param toVideoS maps a reference time to video time (frame-time tables, offsets); identity by default
   */
  constructor(
    private readonly signal: ReferenceSignal,
    toVideoS: (referenceS: number) => number = (t) => t,
  ) {
    this.videoTimeS = signal.timeS.map(toVideoS);
    if (signal.kind === "ecg" || signal.kind === "ppg") {
      const fsHz = medianRateHz(this.videoTimeS);
      const grid = resampleUniform(this.videoTimeS, signal.values, 1, fsHz);
      this.uniform = { fsHz, startS: grid.startS, values: grid.values };
      if (signal.kind === "ecg")
        this.beatsS = detectRPeaks(grid.values, fsHz).rPeakTimesS.map((t) => t + grid.startS);
    }
  }

  /** The waveform over a stretch of video time [startS, endS), or null where the reference does not cover it. */
  private segment(startS: number, endS: number): Float64Array | null {
    const { fsHz, startS: firstS, values } = this.uniform!;
    const from = Math.max(0, sampleCount(startS - firstS, fsHz, "up"));
    const to = Math.min(values.length, sampleCount(endS - firstS, fsHz, "up"));
    if (to - from < 0.9 * (endS - startS) * fsHz) return null;
    return values.subarray(from, to);
  }

  /** The heart rate over a stretch of video time, bpm, and whether the reference itself is doubtful there. */
  window(startS: number, endS: number): { hrBpm: number; lowQuality: boolean } | null {
    const { kind } = this.signal;
    if (kind === "ppg") {
      const segment = this.segment(startS, endS);
      if (!segment) return null;
      const rate = ppgHeartRate(segment, this.uniform!.fsHz);
      return { hrBpm: rate.beatsHrBpm ?? rate.spectrumHrBpm, lowQuality: rate.lowQuality };
    }
    if (kind === "ecg") {
      const { intervals } = rrIntervals(this.beatsS!, [{ startS, endS }]);
      if (intervals.length < 2) return null;
      return {
        hrBpm: 60 / (intervals.reduce((s, i) => s + (i.endS - i.startS), 0) / intervals.length),
        lowQuality: false,
      };
    }
    const inside: number[] = [];
    for (const [i, videoS] of this.videoTimeS.entries())
      if (videoS >= startS && videoS < endS) inside.push(this.signal.values[i]!);
    if (inside.length === 0 || (kind === "rr" && inside.length < 2)) return null;
    const meanValue = inside.reduce((s, v) => s + v, 0) / inside.length;
    return { hrBpm: kind === "rr" ? 60 / meanValue : meanValue, lowQuality: false };
  }

  /**
   * The reference's beats in s of video time: ECG R peaks, PPG systolic peaks (guided by the whole
   * waveform's spectral rate), the ends of RR intervals; an HR trace has none.
   */
  beatTimesS(): number[] {
    const { kind } = this.signal;
    if (kind === "ecg") return this.beatsS!;
    if (kind === "rr") return [...this.videoTimeS];
    if (kind === "hr") return [];
    const { fsHz, startS, values } = this.uniform!;
    const expectedRrS = 60 / spectralHrBpm(values, fsHz);
    // Between samples: a 30-Hz waveform's peaks would otherwise carry 33-ms steps into every interval,
    // as much as the beat-to-beat differences HRV measures.
    return guidedBeats(elgendiSystolicPeaks(values, fsHz, { subSample: true }), expectedRrS).map(
      (t) => t + startS,
    );
  }

  /**
   * A PPG's waveform at every video frame (frame k at k / fps s, linearly interpolated on the uniform
   * grid), NaN where the reference does not cover the frame; null for other kinds (no pulse wave).
   */
  waveformAtFrames(fps: number, frameCount: number): Float64Array | null {
    if (this.signal.kind !== "ppg") return null;
    const { fsHz, startS, values } = this.uniform!;
    const wave = new Float64Array(frameCount).fill(Number.NaN);
    for (let frame = 0; frame < frameCount; frame++) {
      const position = (frame / fps - startS) * fsHz;
      const below = Math.floor(position);
      if (below < 0 || below + 1 >= values.length) continue;
      const fraction = position - below;
      wave[frame] = values[below]! * (1 - fraction) + values[below + 1]! * fraction;
    }
    return wave;
  }

  /** The span of video time the reference covers, s. */
  get coveredS(): { startS: number; endS: number } {
    return { startS: this.videoTimeS[0] ?? 0, endS: this.videoTimeS[this.videoTimeS.length - 1] ?? 0 };
  }

  /**
   * The whole recording's heart rate over [0, durationS) of video: for a PPG waveform its spectral
   * peak computed as rPPG-Toolbox computes it (the field's per-video convention), else the window's rate.
   */
  whole(durationS: number): number | null {
    if (this.signal.kind === "ppg") {
      const segment = this.segment(0, durationS);
      return segment ? toolkitVideoHeartRateBpm(segment, this.uniform!.fsHz) : null;
    }
    return this.window(0, durationS)?.hrBpm ?? null;
  }
}

/**
 * The map from reference time to video time for a recording whose frame times are known on the
 * reference's clock: video time is frame k's index over the video's rate, interpolated between frames.
 */
export function frameClock(frameTimeS: Float64Array, fps: number): (referenceS: number) => number {
  return (t) => {
    let lo = 0;
    let hi = frameTimeS.length - 1;
    if (t <= frameTimeS[0]!) return t - frameTimeS[0]!;
    if (t >= frameTimeS[hi]!) return hi / fps + (t - frameTimeS[hi]!);
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (frameTimeS[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const span = frameTimeS[hi]! - frameTimeS[lo]!;
    return (lo + (span > 0 ? (t - frameTimeS[lo]!) / span : 0)) / fps;
  };
}

/**
 * The frame rate to put a video on instead of its container's, in Hz, where its dataset records every
 * frame's time: the camera's rate between the frames it dropped (steadyRateHz) over the times of the
 * frames the video holds (time k is frame k's, as frameClock takes it; a video cut short keeps its
 * record's first times), where that differs from the container's rate by more than 0.1%; undefined
 * otherwise. A container written at the recording's average rate runs every heart rate low by the share
 * of time its dropped frames took (UBFC-rPPG: up to 1.4%); this rate does not.
 */
export function recordedFrameRateHz(
  frameTimeS: Float64Array,
  video: { fps: number; frameCount: number },
): number | undefined {
  const times = frameTimeS.subarray(0, video.frameCount);
  if (times.length < 2) return undefined;
  const rateHz = steadyRateHz(times);
  return Math.abs(video.fps / rateHz - 1) > 1e-3 ? rateHz : undefined;
}
