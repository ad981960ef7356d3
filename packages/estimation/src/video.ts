import {
  type CnnWindows,
  estimatorsIn,
  type ProtocolName,
  type RunManifest,
  type RunReport,
  type TrialLabels,
  type VideoArtifacts,
  type VideoEstimate,
  type VideoReport,
  videoRef,
} from "@hrpipe/contracts";
import {
  agreement,
  bloodVolumeSign,
  median,
  methodSource,
  type PulseSource,
  pulseHrv,
  pulseVideoEstimate,
  type RppgMethod,
  type RppgOptions,
  rppgMethods,
} from "@hrpipe/signal";

/** A video's skin-colour traces on its own clock: row i is frame firstFrame + i, at (firstFrame + i) / fps s. */
export interface VideoTraceRows {
  rgb: Float32Array | Float64Array;
  faceFound: Uint8Array;
  firstFrame: number;
}

/** A reference as labels on the video's clock: label k is the heart rate around k / fps s. */
export type WindowLabels = Pick<TrialLabels, "hrBpm" | "fps">;

/**
 * The one definition of a window's reference, wherever a window is scored (eval, the run report,
 * `hrpipe rppg <folder>`): the label at the window's centre, which is the reference's rate over the
 * label window around it (`--label-window`, by default as long as the estimators' window).
 */
export function windowReferenceBpm(
  labels: WindowLabels | undefined,
  startS: number,
  endS: number,
): number | null {
  if (!labels) return null;
  return labels.hrBpm[Math.round(((startS + endS) / 2) * labels.fps)] ?? null;
}

/** How every estimator's windows are laid out and tracked: the run's window and stride, and the rPPG options. */
export interface EstimationOptions extends RppgOptions {
  windowS: number;
  strideS: number;
}

/**
 * Every rPPG method on one video: its whole-video rate and its windows in video time, each with its
 * reference. Eval, the run report and `hrpipe rppg <folder>` all measure a video through this.
 */
export function rppgEstimates(
  traces: VideoTraceRows,
  fps: number,
  labels: WindowLabels | undefined,
  options: EstimationOptions,
  methods: readonly RppgMethod[] = rppgMethods,
): Partial<Record<RppgMethod, VideoEstimate>> {
  const estimates: Partial<Record<RppgMethod, VideoEstimate>> = {};
  for (const method of methods)
    estimates[method] = sourceEstimate(
      methodSource(method, traces.rgb, traces.faceFound, fps),
      traces.firstFrame,
      fps,
      labels,
      options,
      bloodVolumeSign[method],
    );
  return estimates;
}

/**
 * A network's pulse on one video (one value per frame from firstFrame, usable where a face was found)
 * measured exactly as the rPPG methods are: the same windows, tracking, SNR and references.
 */
export function pulseEstimate(
  pulse: Float64Array,
  faceFound: Uint8Array,
  firstFrame: number,
  fps: number,
  labels: WindowLabels | undefined,
  options: EstimationOptions,
): VideoEstimate {
  const source: PulseSource = {
    frames: pulse.length,
    usable: (i) => Boolean(faceFound[i]) && Number.isFinite(pulse[i]!),
    rawPulse: (from, to) => pulse.slice(from, to),
  };
  return sourceEstimate(source, firstFrame, fps, labels, options);
}

/** A pulse source's estimate on the video's clock; `sign` orients it for its beats (bloodVolumeSign). */
function sourceEstimate(
  source: PulseSource,
  firstFrame: number,
  fps: number,
  labels: WindowLabels | undefined,
  options: EstimationOptions,
  sign: 1 | -1 = 1,
): VideoEstimate {
  const offsetS = firstFrame / fps;
  const estimate = pulseVideoEstimate(source, fps, options);
  const hrv = pulseHrv(source, fps, estimate.windows, { sign });
  return {
    hrBpm: estimate.hrBpm,
    windows: estimate.windows.map((w) => {
      const startS = w.startS + offsetS;
      const endS = w.endS + offsetS;
      return { ...w, startS, endS, referenceHrBpm: windowReferenceBpm(labels, startS, endS) };
    }),
    hrv: {
      whole: hrv.whole,
      spans: hrv.spans.map((span) => ({ ...span, startS: span.startS + offsetS, endS: span.endS + offsetS })),
    },
  };
}

/**
 * A network's pulse over one video (one value per frame from frame 0), by name: as imported, and
 * fine-tuned (`<name>-ft`) where a protocol tested the video, which `protocol` names.
 */
export interface NetworkPulse {
  pulse: Float64Array;
  faceFound: Uint8Array;
  protocol?: ProtocolName;
}

/** Each network's estimate on one video, measured as the methods' are. */
export function networkEstimates(
  networks: Record<string, NetworkPulse>,
  fps: number,
  labels: WindowLabels | undefined,
  options: EstimationOptions,
): Record<string, VideoEstimate> {
  return Object.fromEntries(
    Object.entries(networks).map(([name, { pulse, faceFound, protocol }]) => [
      name,
      { ...pulseEstimate(pulse, faceFound, 0, fps, labels, options), ...(protocol ? { protocol } : {}) },
    ]),
  );
}

/** What the report knows of one planned video: its artifacts, labels and traces where it reached them. */
export interface VideoInputs {
  video: RunManifest["videos"][number];
  artifacts?: VideoArtifacts;
  labels?: TrialLabels;
  traces?: VideoTraceRows;
  /** The networks' pulses over the video, where the run named networks. */
  networks?: Record<string, NetworkPulse>;
  /** Why it was left out: the first exclusion naming it. */
  excluded?: string;
}

/**
 * One video of the run report: every rPPG method's heart rate over time on the run's evaluation
 * windows (in video time), the CNN's on the windows its protocol scored where a protocol tested the
 * video, and the reference's whole-video and per-window heart rate where the video has one.
 */
export function videoReport(
  inputs: VideoInputs,
  cnn: CnnWindows[],
  options: EstimationOptions,
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
  report.methods = {
    ...rppgEstimates(traces, artifacts.fps, labels, options),
    ...networkEstimates(inputs.networks ?? {}, artifacts.fps, labels, options),
  };
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
        referenceHrBpm: windowReferenceBpm(labels, w.startS, w.endS),
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
  for (const name of estimatorsIn(Object.assign({}, ...videos.map((v) => v.methods)))) {
    const pairs = videos.flatMap((v) => {
      const hr = v.methods[name]?.hrBpm;
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
