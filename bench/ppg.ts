import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  bandpassPulse,
  channel,
  detrendSmoothnessPriors,
  mean,
  medianRateHz,
  peakFrequency,
  periodogram,
  ppgHeartRate,
  pulseBandHz,
  pulseSnrDb,
  resampleUniform,
} from "@hrpipe/signal";
import { type BenchResult, type BenchRow, machineDescription } from "./report.ts";

const welltoryDir = path.resolve(import.meta.dirname, "../../shared/data/welltory-ppg/data");

interface Recording {
  name: string;
  fsHz: number;
  /** The finger's intensity, negated so that systolic peaks are maxima. */
  ppg: Float64Array;
  /** Polar H10 RR intervals, s, from the recording's start. */
  rrS: number[];
}

/** The colour channel whose spectrum holds the clearest pulse (a finger over the flash saturates some). */
function clearestChannel(rgb: Float64Array, fsHz: number): Float64Array {
  let best: Float64Array | undefined;
  let bestSnr = Number.NEGATIVE_INFINITY;
  for (const c of [0, 1, 2]) {
    const x = channel(rgb, c);
    if (Math.max(...x) - Math.min(...x) < 1e-6) continue;
    const spectrum = periodogram(bandpassPulse(detrendSmoothnessPriors(x), fsHz), fsHz);
    const snr = pulseSnrDb(
      spectrum,
      peakFrequency(spectrum, pulseBandHz.low, pulseBandHz.high),
      pulseBandHz.low,
      4,
    );
    if (snr > bestSnr) [best, bestSnr] = [x, snr];
  }
  return best ?? channel(rgb, 0);
}

function readRecording(folder: string): Recording {
  const rows = readFileSync(path.join(welltoryDir, folder, "PPG.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(",").map(Number));
  const timeS = rows.map((row) => row[0]! / 1000);
  const fsHz = medianRateHz(timeS);
  const uniform = resampleUniform(
    timeS,
    rows.flatMap((row) => [row[1]!, row[2]!, row[3]!]),
    3,
    fsHz,
  );
  const rrS = readFileSync(path.join(welltoryDir, folder, "RR.txt"), "utf8")
    .trim()
    .split(/\s+/)
    .map((ms) => Number(ms) / 1000);
  return { name: folder, fsHz, ppg: clearestChannel(uniform.values, fsHz).map((v) => -v), rrS };
}

/** 60 / mean of the RR intervals lying inside [startS, endS), the beats counted from the recording's start. */
function referenceBpm(rrS: number[], startS: number, endS: number): number | null {
  let t = 0;
  const inside: number[] = [];
  for (const rr of rrS) {
    t += rr;
    if (t - rr >= startS && t < endS) inside.push(rr);
  }
  return inside.length < 2 ? null : 60 / mean(inside);
}

/**
 * PPG references: Elgendi's systolic peaks, cleaned with the spectral rate, on Welltory's 21 finger
 * recordings from phone cameras against the same people's Polar H10 chest-strap RR intervals.
 */
export async function benchPpg(): Promise<BenchResult> {
  if (!existsSync(welltoryDir))
    throw new Error(`${welltoryDir} is missing; this benchmark reads ../shared/data beside the checkout.`);
  const recordings = readdirSync(welltoryDir).sort().map(readRecording);
  const wholeErrors: number[] = [];
  const spectrumErrors: number[] = [];
  const windowErrors: number[] = [];
  const flaggedErrors: number[] = [];
  let windows = 0;
  for (const recording of recordings) {
    const whole = ppgHeartRate(recording.ppg, recording.fsHz);
    const truth = 60 / mean(recording.rrS);
    wholeErrors.push(Math.abs((whole.beatsHrBpm ?? whole.spectrumHrBpm) - truth));
    spectrumErrors.push(Math.abs(whole.spectrumHrBpm - truth));
    const windowS = 10;
    const durationS = recording.ppg.length / recording.fsHz;
    for (let startS = 0; startS + windowS <= durationS; startS += 5) {
      const reference = referenceBpm(recording.rrS, startS, startS + windowS);
      if (reference === null) continue;
      const from = Math.round(startS * recording.fsHz);
      const estimate = ppgHeartRate(
        recording.ppg.slice(from, from + Math.round(windowS * recording.fsHz)),
        recording.fsHz,
      );
      windows++;
      const error = Math.abs((estimate.beatsHrBpm ?? estimate.spectrumHrBpm) - reference);
      windowErrors.push(error);
      if (estimate.lowQuality) flaggedErrors.push(error);
    }
  }
  const rows: BenchRow[] = [
    {
      metric: `whole-recording HR MAE, beats (${recordings.length} recordings)`,
      value: mean(wholeErrors),
      unit: "bpm",
      reference: { what: "the spectral peak alone", value: mean(spectrumErrors) },
      target: "<= 2 bpm",
      met: mean(wholeErrors) <= 2,
    },
    { metric: "whole-recording HR, largest error", value: Math.max(...wholeErrors), unit: "bpm" },
    {
      metric: `10-s window HR MAE (${windows} windows, every 5 s)`,
      value: mean(windowErrors),
      unit: "bpm",
    },
    { metric: "10-s windows flagged low quality", value: (100 * flaggedErrors.length) / windows, unit: "%" },
    {
      metric: "10-s window HR MAE of the flagged windows",
      value: mean(flaggedErrors),
      unit: "bpm",
      reference: { what: "all windows", value: mean(windowErrors) },
    },
    {
      metric: "10-s windows within 5 bpm",
      value: (100 * windowErrors.filter((e) => e <= 5).length) / windowErrors.length,
      unit: "%",
    },
  ];
  return {
    name: "ppg",
    title: "PPG references: Welltory finger PPG against Polar H10 ECG",
    method:
      "`pnpm bench ppg`. The 21 recordings of ../shared/data/welltory-ppg: a finger on a phone camera (frame times in ms, mean R, G, B), " +
      "resampled to their median frame rate; the channel with the clearest pulse-band spectral peak, negated (blood darkens the finger); " +
      "Elgendi's two-moving-average systolic peaks (2013), a peak closer than 70% of the spectral rate's interval to a larger one dropped; " +
      "HR = 60 / mean of the beat intervals within 30% of the spectral rate's. Reference: the Polar H10's RR intervals of the same " +
      "recording (60 / their mean). RR.txt carries no timestamps: for the 10-s windows its beats are counted from the recording's start, " +
      "so window figures include any offset between the two devices' starts.",
    rows,
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
