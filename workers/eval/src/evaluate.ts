import { type EstimatorName, estimatorNames, type ProtocolMetrics } from "@hrpipe/contracts";
import {
  type EstimationOptions,
  type NetworkPulse,
  networkEstimates,
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
  /** The networks' pulses over the video (as imported and fine-tuned), where the run named networks. */
  networks?: Record<string, NetworkPulse>;
}

export interface WindowComparison {
  participant: string;
  videoId: string;
  startS: number;
  endS: number;
  /** The reference at the window centre (windowReferenceBpm). */
  referenceBpm: number;
  /** Every rPPG method's estimate, the CNN's where the run has one, and each network's. */
  estimates: Partial<Record<EstimatorName, number>>;
  /** The rPPG methods whose window fell below the quality floor: scored, and counted in the report. */
  lowQuality: RppgMethod[];
}

/** A CNN's predictions for one video's frames. */
export interface CnnFramePredictions {
  frameIndex: number[];
  predictedBpm: number[];
  /** Predictions per second of video where every frame shows a face (--features-fps); default every frame. */
  fps?: number;
}

/**
 * Every estimator on exactly the same windows: the CNN (where the run has one) as the mean of its
 * frame predictions in the window, each rPPG method's and network's window as the run report has it
 * (rppgEstimates, networkEstimates), all against the reference at the window centre. A window counts
 * only where every estimator and the reference have a value.
 */
export function compareWindows(
  video: TestVideo,
  cnnFrames: CnnFramePredictions | null,
  options: EstimationOptions,
): WindowComparison[] {
  const perMethod = rppgEstimates(video, video.fps, video.labels, options) as Record<
    RppgMethod,
    NonNullable<ReturnType<typeof rppgEstimates>[RppgMethod]>
  >;
  const networks = Object.entries(
    networkEstimates(video.networks ?? {}, video.fps, video.labels, options),
  ).map(
    ([name, estimate]) =>
      [name, new Map(estimate.windows.map((w) => [w.startS.toFixed(3), w.hrBpm]))] as const,
  );
  const predicted =
    cnnFrames && new Map(cnnFrames.frameIndex.map((frame, i) => [frame, cnnFrames.predictedBpm[i]!]));
  const windows: WindowComparison[] = [];
  perMethod.pos.windows.forEach(({ startS, endS, referenceHrBpm: referenceBpm }, w) => {
    if (referenceBpm === null) return;
    const estimates: WindowComparison["estimates"] = {};
    if (cnnFrames && predicted) {
      const inWindow: number[] = [];
      for (let frame = Math.round(startS * video.fps); frame < Math.round(endS * video.fps); frame++) {
        const value = predicted.get(frame);
        if (value !== undefined) inWindow.push(value);
      }
      // At least half the window's frames that could carry a CNN prediction must carry one.
      if (inWindow.length < 0.5 * (endS - startS) * Math.min(cnnFrames.fps ?? video.fps, video.fps)) return;
      estimates.cnn = mean(inWindow);
    }
    const lowQuality: RppgMethod[] = [];
    for (const method of rppgMethods) {
      const estimate = perMethod[method].windows[w];
      if (estimate?.hrBpm === null || estimate?.hrBpm === undefined) return;
      estimates[method] = estimate.hrBpm;
      if (estimate.lowQuality) lowQuality.push(method);
    }
    for (const [name, byStart] of networks) {
      const hrBpm = byStart.get(startS.toFixed(3));
      if (hrBpm === null || hrBpm === undefined) return;
      estimates[name] = hrBpm;
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

/** The estimators a protocol scores: every rPPG method, the CNN where the run has one, and the networks. */
export function scoredEstimators(withCnn: boolean, networks: EstimatorName[] = []): EstimatorName[] {
  return [...estimatorNames.filter((name) => withCnn || name !== "cnn"), ...networks];
}

type PerEstimator<T> = Record<EstimatorName, T>;

function perEstimator<T>(names: EstimatorName[], value: (name: EstimatorName) => T): PerEstimator<T> {
  return Object.fromEntries(names.map((name) => [name, value(name)]));
}

function windowMetrics(windows: WindowComparison[], names: EstimatorName[]): PerEstimator<AgreementMetrics> {
  const reference = windows.map((w) => w.referenceBpm);
  return perEstimator(names, (name) =>
    agreement(
      windows.map((w) => w.estimates[name]!),
      reference,
    ),
  );
}

/** The CNN's frame predictions on a protocol's test frames, beside their labels. */
export interface CnnTestFrames {
  frames: Pick<FrameSet, "participant" | "hrBpm">;
  predictedBpm: Float32Array;
}

export function protocolMetrics(
  cnn: CnnTestFrames | null,
  windows: WindowComparison[],
  networks: EstimatorName[] = [],
): ProtocolMetrics {
  const names = scoredEstimators(cnn !== null, networks);
  const ids = [...new Set([...(cnn?.frames.participant ?? []), ...windows.map((w) => w.participant)])].sort();
  const cnnAgreement = (rows: (participant: string) => boolean) => {
    if (!cnn) return null;
    const picked = cnn.frames.participant.flatMap((p, i) => (rows(p) ? [i] : []));
    return agreement(
      picked.map((i) => cnn.predictedBpm[i]!),
      picked.map((i) => cnn.frames.hrBpm[i]!),
    );
  };
  const participants = ids.map((participant) => ({
    participant,
    frames: cnnAgreement((p) => p === participant),
    windows: windowMetrics(
      windows.filter((w) => w.participant === participant),
      names,
    ),
  }));
  const summarise = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    return { meanRmse: mean(finite), medianRmse: median(finite) };
  };
  return {
    participants,
    overall: {
      frames: cnnAgreement(() => true),
      windows: windowMetrics(windows, names),
      lowQualityWindows: Object.fromEntries(
        rppgMethods.map((method) => [method, windows.filter((w) => w.lowQuality.includes(method)).length]),
      ),
      windowBands: perEstimator(names, (name) =>
        bandAgreement(
          windows.map((w) => w.estimates[name]!),
          windows.map((w) => w.referenceBpm),
        ),
      ),
    },
    headline: {
      cnnFrames: cnn ? summarise(participants.map((p) => p.frames!.rmse)) : null,
      windows: perEstimator(names, (name) => summarise(participants.map((p) => p.windows[name]!.rmse))),
    },
  };
}
