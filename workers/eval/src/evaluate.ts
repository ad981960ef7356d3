import { type EstimatorName, estimatorNames, type ProtocolMetrics } from "@hrpipe/contracts";
import {
  type EstimationOptions,
  rppgEstimates,
  type VideoTraceRows,
  type WindowLabels,
} from "@hrpipe/estimation";
import type { FrameSet } from "@hrpipe/runtime";
import {
  type AgreementMetrics,
  agreement,
  bandAgreement,
  mean,
  median,
  type RppgMethod,
  rppgMethods,
} from "@hrpipe/signal";

/** One video of the test split, as evaluation needs it: its traces over every segment and its labels. */
export interface TestVideo extends VideoTraceRows {
  participant: string;
  videoId: string;
  fps: number;
  labels: WindowLabels;
}

export interface WindowComparison {
  participant: string;
  videoId: string;
  startS: number;
  endS: number;
  /** The reference at the window centre (windowReferenceBpm). */
  referenceBpm: number;
  estimates: Record<EstimatorName, number>;
  /** The rPPG methods whose window fell below the quality floor: scored, and counted in the report. */
  lowQuality: RppgMethod[];
}

/**
 * Every estimator on exactly the same windows: the CNN as the mean of its frame predictions in the
 * window, each rPPG method's window as the run report has it (rppgEstimates), all against the
 * reference at the window centre. A window counts only where every estimator and the reference have a value.
 */
export function compareWindows(
  video: TestVideo,
  cnnFrames: {
    frameIndex: number[];
    predictedBpm: number[];
    /** Predictions per second of video where every frame shows a face (--features-fps); default every frame. */
    fps?: number;
  },
  options: EstimationOptions,
): WindowComparison[] {
  const perMethod = rppgEstimates(video, video.fps, video.labels, options) as Record<
    RppgMethod,
    NonNullable<ReturnType<typeof rppgEstimates>[RppgMethod]>
  >;
  const predicted = new Map(cnnFrames.frameIndex.map((frame, i) => [frame, cnnFrames.predictedBpm[i]!]));
  const windows: WindowComparison[] = [];
  perMethod.pos.windows.forEach(({ startS, endS, referenceHrBpm: referenceBpm }, w) => {
    if (referenceBpm === null) return;
    const inWindow: number[] = [];
    for (let frame = Math.round(startS * video.fps); frame < Math.round(endS * video.fps); frame++) {
      const value = predicted.get(frame);
      if (value !== undefined) inWindow.push(value);
    }
    // At least half the window's frames that could carry a CNN prediction must carry one.
    if (inWindow.length < 0.5 * (endS - startS) * Math.min(cnnFrames.fps ?? video.fps, video.fps)) return;
    const estimates = { cnn: mean(inWindow) } as Record<EstimatorName, number>;
    const lowQuality: RppgMethod[] = [];
    for (const method of rppgMethods) {
      const estimate = perMethod[method].windows[w];
      if (estimate?.hrBpm === null || estimate?.hrBpm === undefined) return;
      estimates[method] = estimate.hrBpm;
      if (estimate.lowQuality) lowQuality.push(method);
    }
    windows.push({
      participant: video.participant,
      videoId: video.videoId,
      startS,
      endS,
      referenceBpm,
      estimates,
      lowQuality,
    });
  });
  return windows;
}

function windowMetrics(windows: WindowComparison[]): Record<EstimatorName, AgreementMetrics> {
  const reference = windows.map((w) => w.referenceBpm);
  return Object.fromEntries(
    estimatorNames.map((name) => [
      name,
      agreement(
        windows.map((w) => w.estimates[name]),
        reference,
      ),
    ]),
  ) as Record<EstimatorName, AgreementMetrics>;
}

export function protocolMetrics(
  frames: Pick<FrameSet, "participant" | "hrBpm">,
  predictedBpm: Float32Array,
  windows: WindowComparison[],
): ProtocolMetrics {
  const ids = [...new Set([...frames.participant, ...windows.map((w) => w.participant)])].sort();
  const participants = ids.map((participant) => {
    const rows = frames.participant.flatMap((p, i) => (p === participant ? [i] : []));
    return {
      participant,
      frames: agreement(
        rows.map((i) => predictedBpm[i]!),
        rows.map((i) => frames.hrBpm[i]!),
      ),
      windows: windowMetrics(windows.filter((w) => w.participant === participant)),
    };
  });
  const summarise = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    return { meanRmse: mean(finite), medianRmse: median(finite) };
  };
  return {
    participants,
    overall: {
      frames: agreement(predictedBpm, frames.hrBpm),
      windows: windowMetrics(windows),
      lowQualityWindows: Object.fromEntries(
        rppgMethods.map((method) => [method, windows.filter((w) => w.lowQuality.includes(method)).length]),
      ),
      windowBands: Object.fromEntries(
        estimatorNames.map((name) => [
          name,
          bandAgreement(
            windows.map((w) => w.estimates[name]),
            windows.map((w) => w.referenceBpm),
          ),
        ]),
      ) as ProtocolMetrics["overall"]["windowBands"],
    },
    headline: {
      cnnFrames: summarise(participants.map((p) => p.frames.rmse)),
      windows: Object.fromEntries(
        estimatorNames.map((name) => [name, summarise(participants.map((p) => p.windows[name].rmse))]),
      ) as Record<EstimatorName, { meanRmse: number; medianRmse: number }>,
    },
  };
}
