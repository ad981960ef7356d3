import {
  bloodVolumeSign,
  cleanPulse,
  methodSource,
  type PulseSource,
  pulseHeartRate,
  pulseHrv,
  type RppgMethod,
  type RppgOptions,
} from "@hrpipe/signal";

/** One live update: the heart rate over the newest window, as the offline path measures a window. */
export interface LiveEstimate {
  /** Seconds of stream time at the window's end (the newest frame). */
  tS: number;
  hrBpm: number | null;
  confidence: number | null;
  snrDb: number | null;
  lowQuality: boolean;
  /** RMSSD of the clean beat intervals over the last 60 s, ms; null until 60 s have been seen. */
  rmssdMs: number | null;
  /** The newest window's pulse, cleaned as for the heart rate and turned to rise with blood volume (empty where a frame had no face). */
  pulse: Float64Array;
}

export interface LiveHeartRateOptions extends Pick<RppgOptions, "harmonicWeight"> {
  method: RppgMethod;
  fps: number;
  windowS: number;
}

/** How much history the tracker and HRV see: a minute for RMSSD, and the window itself. */
const hrvSpanS = 60;

/**
 * A rolling heart rate over a stream of skin colours: the last minute (or the window, if longer) is
 * kept in a ring, and each update measures it exactly as a video is measured offline (the method's
 * pulse, windows every second, Viterbi tracking, SNR) and reports the newest window; the same
 * minute gives the beats' RMSSD. Memory is bounded by the history, however long the stream runs.
 */
export class LiveHeartRate {
  private readonly capacity: number;
  private readonly rgb: Float32Array;
  private readonly face: Uint8Array;
  private count = 0;

  constructor(private readonly options: LiveHeartRateOptions) {
    this.capacity = Math.round(Math.max(hrvSpanS, options.windowS) * options.fps);
    this.rgb = new Float32Array(this.capacity * 3);
    this.face = new Uint8Array(this.capacity);
  }

  /** Frames seen so far. */
  get frames(): number {
    return this.count;
  }

  /** The next frame's mean skin colour, or null where it showed no face. */
  push(skin: { r: number; g: number; b: number } | null): void {
    const slot = this.count % this.capacity;
    this.rgb.set(skin ? [skin.r, skin.g, skin.b] : [Number.NaN, Number.NaN, Number.NaN], slot * 3);
    this.face[slot] = skin ? 1 : 0;
    this.count++;
  }

  /** The newest window's estimate; null until a whole window has been seen. */
  estimate(): LiveEstimate | null {
    const { fps, windowS, method } = this.options;
    const windowFrames = Math.round(windowS * fps);
    if (this.count < windowFrames) return null;
    const strideFrames = Math.max(1, Math.round(fps));
    // The history in time order, oldest first, trimmed so that the last 1-s step ends at the newest frame.
    const seen = Math.min(this.count, this.capacity);
    const frames = seen - ((seen - windowFrames) % strideFrames);
    const rgb = new Float32Array(frames * 3);
    const face = new Uint8Array(frames);
    const first = this.count - frames;
    for (let i = 0; i < frames; i++) {
      const slot = (first + i) % this.capacity;
      rgb.set(this.rgb.subarray(slot * 3, slot * 3 + 3), i * 3);
      face[i] = this.face[slot]!;
    }
    const source: PulseSource = methodSource(method, rgb, face, fps);
    const windows = pulseHeartRate(source, fps, {
      windowS,
      strideS: strideFrames / fps,
      harmonicWeight: this.options.harmonicWeight,
    });
    const newest = windows.at(-1)!;
    const sign = bloodVolumeSign[method];
    const rmssdMs =
      frames >= Math.round(hrvSpanS * fps) - strideFrames
        ? pulseHrv(source, fps, windows, { sign }).whole.rmssdMs
        : null;
    const raw = source.rawPulse(frames - windowFrames, frames);
    const pulse = raw.every(Number.isFinite) ? cleanPulse(raw, fps).map((v) => sign * v) : new Float64Array();
    return {
      pulse,
      tS: this.count / fps,
      hrBpm: newest.hrBpm,
      confidence: newest.confidence,
      snrDb: newest.snrDb,
      lowQuality: newest.lowQuality,
      rmssdMs,
    };
  }
}
