import {
  type CnnWindows,
  type EstimatorName,
  estimatorNames,
  type RunManifest,
  type RunReport,
  type TrialLabels,
  type VideoArtifacts,
  type VideoEstimate,
  type VideoReport,
  videoRef,
} from "@hrpipe/contracts";
import type { VideoTraces } from "@hrpipe/runtime";
import { agreement, median, rppgMethods, rppgVideoEstimate } from "@hrpipe/signal";

/** What the report knows of one planned video: its artifacts, labels and traces where it reached them. */
export interface VideoInputs {
  video: RunManifest["videos"][number];
  artifacts?: VideoArtifacts;
  labels?: TrialLabels;
  traces?: VideoTraces;
  /** Why it was left out: the first exclusion naming it. */
  excluded?: string;
}

/** The label at a window's centre: the reference each method is scored against. */
function referenceAt(labels: TrialLabels | undefined, startS: number, endS: number): number | null {
  if (!labels) return null;
  return labels.hrBpm[Math.round(((startS + endS) / 2) * labels.fps)] ?? null;
}

/**
 * One video of the run report: every rPPG method's heart rate over time on the run's evaluation
 * windows (in video time), the CNN's on the windows its protocol scored where a protocol tested the
 * video, and the reference's whole-video and per-window heart rate where the video has one.
 */
export function videoReport(
  inputs: VideoInputs,
  cnn: CnnWindows[],
  options: { windowS: number; strideS: number },
): Omit<VideoReport, "figure"> {
  const { video, artifacts, labels, traces } = inputs;
  const report: Omit<VideoReport, "figure"> = {
    subject: video.participant,
    video: video.path ?? video.videoKey,
    participant: video.participant,
    videoId: video.videoId,
    durationS: artifacts ? artifacts.frameCount / artifacts.fps : null,
    referenceHrBpm: labels?.videoHrBpm ?? null,
    excluded: inputs.excluded ?? null,
    methods: {},
  };
  if (!artifacts || !traces) {
    report.excluded ??= "the video reached no face traces; see the exclusions.";
    return report;
  }
  const offsetS = traces.firstFrame / artifacts.fps;
  for (const method of rppgMethods) {
    const estimate = rppgVideoEstimate(method, traces.rgb, traces.faceFound, artifacts.fps, options);
    report.methods[method] = {
      hrBpm: estimate.hrBpm,
      windows: estimate.windows.map((w) => {
        const startS = w.startS + offsetS;
        const endS = w.endS + offsetS;
        return { ...w, startS, endS, referenceHrBpm: referenceAt(labels, startS, endS) };
      }),
    };
  }
  const ref = videoRef(video.participant, video.videoId);
  for (const protocolWindows of cnn) {
    const own = protocolWindows.windows.filter((w) => videoRef(w.participant, w.videoId) === ref);
    if (own.length === 0) continue;
    const estimate: VideoEstimate = {
      hrBpm: median(own.map((w) => w.hrBpm)),
      windows: own.map((w) => ({
        startS: w.startS,
        endS: w.endS,
        hrBpm: w.hrBpm,
        confidence: null,
        snrDb: null,
        lowQuality: false,
        referenceHrBpm: referenceAt(labels, w.startS, w.endS),
      })),
      protocol: protocolWindows.protocol,
    };
    report.methods.cnn = estimate;
    break;
  }
  return report;
}

/**
 * Each estimator's whole-video heart rates against the videos' references: the per-video MAE, RMSE,
 * MAPE, r and Bland-Altman the field reports; estimators with no video to score are left out.
 */
export function videoMetrics(
  videos: Pick<VideoReport, "referenceHrBpm" | "methods">[],
): RunReport["videoMetrics"] {
  const metrics: RunReport["videoMetrics"] = {};
  for (const name of estimatorNames) {
    const pairs = videos.flatMap((v) => {
      const hr = v.methods[name as EstimatorName]?.hrBpm;
      return hr === null || hr === undefined || v.referenceHrBpm === null
        ? []
        : [[hr, v.referenceHrBpm] as const];
    });
    if (pairs.length > 0)
      metrics[name] = agreement(
        pairs.map(([hr]) => hr),
        pairs.map(([, reference]) => reference),
      );
  }
  return metrics;
}
