import type { LabelOptions, TrialLabels } from "@hrpipe/contracts";
import { type AmigosTrial, amigosSampleRateHz, amigosTrials } from "@hrpipe/datasets";
import { detectRPeaks, frameHeartRates, rrIntervals, sampleCount } from "@hrpipe/signal";

export interface TrialExclusion {
  videoId: string;
  reason: string;
}

export interface ParticipantLabels {
  trials: TrialLabels[];
  excluded: TrialExclusion[];
}

/** A .mat file that cannot be labelled at all; the message names the file and the reason. */
export class EcgInputError extends Error {
  override name = "EcgInputError";
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Labels one trial's ECG column; returns the reason instead when the trial has no usable ECG. */
export function labelTrial(
  ecg: Float64Array,
  context: { participant: string; videoId: string; column: number; source: string },
  options: LabelOptions,
): TrialLabels | string {
  const fsHz = amigosSampleRateHz;
  const durationS = ecg.length / fsHz;
  const finite = ecg.reduce((count, v) => count + (Number.isFinite(v) ? 1 : 0), 0);
  if (finite === 0) return `column ${context.column} holds no ECG samples (empty or all NaN)`;
  const peaks = detectRPeaks(ecg, fsHz);
  // The ECG's clock plus the offset is the video's: beats and recorded stretches move with it.
  const beatTimesS = peaks.rPeakTimesS.map((t) => t + options.offsetS);
  const spansS = peaks.spansS.map((span) => ({
    startS: span.startS + options.offsetS,
    endS: span.endS + options.offsetS,
  }));
  const rr = rrIntervals(beatTimesS, spansS);
  if (rr.intervals.length < 2) {
    return `column ${context.column} has no usable ECG: ${beatTimesS.length} beats and ${rr.intervals.length} valid RR intervals in ${round(durationS, 1)} s`;
  }
  const frameCount = sampleCount(durationS, options.fps, "down");
  const hrBpm = frameHeartRates(rr.intervals, { frameCount, fps: options.fps, windowS: options.windowS });
  const labelled = hrBpm.filter((hr): hr is number => hr !== null);
  if (labelled.length === 0) {
    return `column ${context.column} has no frame with ${options.windowS} s of valid beats around it`;
  }
  const meanRrS = rr.intervals.reduce((s, i) => s + (i.endS - i.startS), 0) / rr.intervals.length;
  return {
    participant: context.participant,
    videoId: context.videoId,
    kind: "ecg",
    source: context.source,
    // An ECG has no pulse wave: fine-tuning targets its beats.
    waveform: null,
    fps: options.fps,
    windowS: options.windowS,
    column: context.column,
    fsHz,
    durationS,
    frameCount,
    beatTimesS: beatTimesS.map((t) => round(t, 5)),
    hrBpm: hrBpm.map((hr) => (hr === null ? null : round(hr, 3))),
    videoHrBpm: round(60 / meanRrS, 3),
    quality: {
      beats: beatTimesS.length,
      rrIntervals: rr.intervals.length,
      rrRejected: rr.rejected,
      labelledShare: round(labelled.length / frameCount, 4),
      polarity: peaks.polarity === 1 ? "upright" : "inverted",
      spansS,
      meanHrBpm: round(labelled.reduce((s, v) => s + v, 0) / labelled.length, 3),
      minHrBpm: round(Math.min(...labelled), 3),
      maxHrBpm: round(Math.max(...labelled), 3),
    },
  };
}

/**
 * Labels every trial of an AMIGOS `Data_Preprocessed_Pxx.mat`. A file that cannot be read at all
 * throws EcgInputError; a trial without usable ECG is excluded with its reason and the others go on.
 */
export function labelMatFile(
  bytes: Uint8Array,
  source: string,
  participant: string,
  options: LabelOptions,
): ParticipantLabels {
  let trials: AmigosTrial[];
  try {
    trials = amigosTrials(bytes, source);
  } catch (error) {
    throw new EcgInputError((error as Error).message);
  }
  const result: ParticipantLabels = { trials: [], excluded: [] };
  for (const trial of trials) {
    const { videoId } = trial;
    if ("excluded" in trial) {
      result.excluded.push({ videoId, reason: trial.excluded });
      continue;
    }
    let ecg: Float64Array;
    try {
      ecg = trial.column(options.column);
    } catch (error) {
      throw new EcgInputError((error as Error).message);
    }
    const labels = labelTrial(ecg, { participant, videoId, column: options.column, source }, options);
    if (typeof labels === "string")
      result.excluded.push({ videoId, reason: `${source} trial ${videoId}: ${labels}` });
    else result.trials.push(labels);
  }
  return result;
}
