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
  beatAgreement,
  beatIntervals,
  bloodVolumeSign,
  median,
  methodSource,
  type PulseSource,
  pulseHrv,
  pulseVideoEstimate,
  type RecordingHrv,
  type RppgMethod,
  type RppgOptions,
  recordingHrv,
  rppgMethods,
} from "@hrpipe/signal";

/** A video's skin-colour traces on its own clock: row i is frame firstFrame + i, at (firstFrame + i) / fps s. */
export interface VideoTraceRows {
  rgb: Float32Array | Float64Array;
  faceFound: Uint8Array;
  firstFrame: number;
}

/**
 * A reference as labels on the video's clock: label k is the heart rate around k / fps s; its beats
 * (where it has them) are what the estimators' beats are compared with.
 */
export type WindowLabels = Pick<TrialLabels, "hrBpm" | "fps"> & Partial<Pick<TrialLabels, "beatTimesS">>;

/**
 * The reference's HRV from its beats over the video's `durationS`, its intervals flagged by the rate
 * the reference itself gives around them (its labels); null where it has fewer than three beats.
 */
export function referenceHrv(
  labels: WindowLabels | undefined,
  durationS: number,
): (RecordingHrv & { beatsS: number[] }) | null {
  const beatsS = labels?.beatTimesS ?? [];
  if (!labels || beatsS.length < 3) return null;
  const rates = labels.hrBpm.filter((hr): hr is number => hr !== null);
  const typicalRrS =
    rates.length > 0 ? 60 / median(rates) : median(beatsS.slice(1).map((t, i) => t - beatsS[i]!));
  const expectedRrS = (timeS: number) => {
    const hr = labels.hrBpm[Math.round(timeS * labels.fps)];
    return hr ? 60 / hr : typicalRrS;
  };
  return { beatsS, ...recordingHrv(beatIntervals(beatsS, expectedRrS), durationS) };
}

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
  const reference = referenceHrv(labels, (firstFrame + source.frames) / fps);
  const beatsS = hrv.beatsS.map((t) => t + offsetS);
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
      ...(reference ? { reference: beatAgreement({ beatsS, whole: hrv.whole }, reference) } : {}),
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
    referenceHrv: null,
    methods: {},
  };
  if (!artifacts || !traces) {
    report.excluded ??= "the video reached no face traces; see the exclusions.";
    return report;
  }
  const hrv = referenceHrv(labels, artifacts.frameCount / artifacts.fps);
  if (hrv) report.referenceHrv = { whole: hrv.whole, spans: hrv.spans, beats: hrv.beatsS.length };
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

/**
 * Each estimator's beats and HRV against the references' beats, averaged over the videos where both
 * have them: what the report's HRV table ranks.
 */
export function hrvAgreement(videos: Pick<VideoReport, "methods">[]): RunReport["hrvAgreement"] {
  const summary: RunReport["hrvAgreement"] = {};
  const meanOf = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    return known.length > 0 ? known.reduce((s, v) => s + v, 0) / known.length : null;
  };
  for (const name of estimatorsIn(Object.assign({}, ...videos.map((v) => v.methods)))) {
    const compared = videos.flatMap((v) => {
      const reference = v.methods[name]?.hrv?.reference;
      return reference ? [reference] : [];
    });
    if (compared.length === 0) continue;
    summary[name] = {
      videos: compared.length,
      sensitivity: meanOf(compared.map((c) => c.sensitivity))!,
      positivePredictivity: meanOf(compared.map((c) => c.positivePredictivity))!,
      meanIbiErrorMs: meanOf(compared.map((c) => c.meanIbiErrorMs)),
      rmssdErrorMs: meanOf(compared.map((c) => c.rmssdErrorMs)),
    };
  }
  return summary;
}
