import { readFileSync } from "node:fs";
import path from "node:path";
import { readMat } from "@hrpipe/matfile";

export const fixtureDir = path.resolve(import.meta.dirname, "../../../../shared/fixtures/amigos-mat");

export interface TruthTrial {
  videoId: string;
  durationS: number;
  rPeakTimesS: number[];
  nanGapS: [number, number] | null;
  kind: string;
}

export const truth = JSON.parse(readFileSync(path.join(fixtureDir, "truth_P01.json"), "utf8")) as {
  fs: number;
  trials: TruthTrial[];
};

/** One column of every trial of the fixture, as the ECG stage reads it. */
export function fixtureColumn(trialIndex: number, column: number): Float64Array {
  const file = readMat(readFileSync(path.join(fixtureDir, "Data_Preprocessed_P01.mat")));
  const joined = file.variables["joined_data"];
  if (joined?.kind !== "cell") throw new Error("fixture has no joined_data cell");
  const trial = joined.cells[trialIndex];
  if (trial?.kind !== "numeric") throw new Error("fixture trial is not numeric");
  const rows = trial.dims[0]!;
  return trial.real.slice(column * rows, (column + 1) * rows);
}

/** Matches detections to truth one-to-one within the tolerance; returns precision, recall and F1. */
export function peakF1(
  detectedS: number[],
  trueS: number[],
  toleranceS: number,
): { f1: number; precision: number; recall: number } {
  const used = new Set<number>();
  let matched = 0;
  for (const t of trueS) {
    let best = -1;
    for (let i = 0; i < detectedS.length; i++) {
      if (used.has(i) || Math.abs(detectedS[i]! - t) > toleranceS) continue;
      if (best < 0 || Math.abs(detectedS[i]! - t) < Math.abs(detectedS[best]! - t)) best = i;
    }
    if (best >= 0) {
      used.add(best);
      matched++;
    }
  }
  const precision = detectedS.length === 0 ? 0 : matched / detectedS.length;
  const recall = trueS.length === 0 ? 1 : matched / trueS.length;
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
}
