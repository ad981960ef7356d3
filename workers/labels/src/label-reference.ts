import type { LabelOptions, TrialLabels, VideoReference } from "@hrpipe/contracts";
import { frameClock, ReferenceRate, type ReferenceSignal, readReference } from "@hrpipe/datasets";
import { medianRateHz, rrIntervals, sampleCount } from "@hrpipe/signal";

/** A reference file that cannot be read as its layout says; the message names the file. */
export class ReferenceInputError extends Error {
  override name = "ReferenceInputError";
}

/** A reference file's bytes, and its frame-times table's where the recording has one. */
export interface ReferenceContents {
  reference: Uint8Array;
  frameTimes?: Uint8Array;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Labels one video from its own reference file: the file is parsed as its layout says, carried onto
 * the video's clock (through the frames' own timestamps where the dataset has them, so a variable
 * frame rate lines up frame for frame, then the reference's offset), and each frame k gets the heart
 * rate of the `windowS` around k / fps, as AMIGOS's ECG labels do. The video's own rate comes from
 * decode: the clock is the one the face traces are measured on.
 */
export function labelReference(
  input: {
    participant: string;
    videoId: string;
    reference: VideoReference;
    video: { fps: number; frameCount: number };
    options: LabelOptions;
  },
  contents: ReferenceContents,
): TrialLabels {
  const { reference, video, options } = input;
  let signal: ReferenceSignal;
  let frameTimeS: Float64Array | undefined;
  try {
    ({ signal, frameTimeS } = readReference(reference, contents));
  } catch (error) {
    throw new ReferenceInputError((error as Error).message);
  }
  if (signal.timeS.length < 2)
    throw new ReferenceInputError(`${reference.file} holds ${signal.timeS.length} samples; it is empty.`);
  const toFrameClock = frameTimeS ? frameClock(frameTimeS, video.fps) : (t: number) => t;
  // The recording's own offset (a manifest's offset_s) is applied by its layout's parser; this is the run's.
  const rate = new ReferenceRate(signal, (t) => toFrameClock(t) + options.offsetS);
  const durationS = video.frameCount / video.fps;
  const frameCount = sampleCount(durationS, options.fps, "down");
  const half = options.windowS / 2;
  const hrBpm: (number | null)[] = [];
  for (let k = 0; k < frameCount; k++) {
    const centreS = k / options.fps;
    const window =
      centreS - half >= 0 && centreS + half <= durationS ? rate.window(centreS - half, centreS + half) : null;
    hrBpm.push(window ? round(window.hrBpm, 3) : null);
  }
  const labelled = hrBpm.filter((hr): hr is number => hr !== null);
  if (labelled.length === 0) {
    const covered = rate.coveredS;
    throw new ReferenceInputError(
      `${reference.file} gives no ${options.windowS}-s window a heart rate over the video's ${round(durationS, 1)} s (it covers ${round(covered.startS, 1)}-${round(covered.endS, 1)} s of video time); check its offset.`,
    );
  }
  const beatTimesS = rate.beatTimesS().map((t) => round(t, 5));
  const spansS = [
    { startS: Math.max(0, rate.coveredS.startS), endS: Math.min(durationS, rate.coveredS.endS) },
  ];
  const rr = rrIntervals(beatTimesS, spansS);
  const videoHrBpm = rate.whole(durationS);
  const waveform = rate.waveformAtFrames(video.fps, video.frameCount);
  return {
    participant: input.participant,
    videoId: input.videoId,
    kind: signal.kind,
    source: reference.file,
    column: null,
    fps: options.fps,
    windowS: options.windowS,
    fsHz: round(medianRateHz(signal.timeS), 4),
    durationS,
    frameCount,
    beatTimesS,
    waveform: waveform && {
      fps: video.fps,
      values: Array.from(waveform, (v) => (Number.isFinite(v) ? Number(v.toPrecision(5)) : null)),
    },
    hrBpm,
    videoHrBpm: videoHrBpm === null ? null : round(videoHrBpm, 3),
    quality: {
      beats: beatTimesS.length,
      rrIntervals: rr.intervals.length,
      rrRejected: rr.rejected,
      labelledShare: round(labelled.length / frameCount, 4),
      spansS,
      meanHrBpm: round(labelled.reduce((s, v) => s + v, 0) / labelled.length, 3),
      minHrBpm: round(Math.min(...labelled), 3),
      maxHrBpm: round(Math.max(...labelled), 3),
    },
  };
}
