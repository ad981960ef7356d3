import { describe, expect, it } from "vitest";
import { detectRPeaks } from "../src/ecg.ts";
import { frameHeartRates, rrIntervals } from "../src/heart-rate.ts";
import { fixtureColumn, peakF1, truth } from "./amigos-fixture.ts";

const fsHz = truth.fs;

function truthSpans(trial: (typeof truth.trials)[number]) {
  if (!trial.nanGapS) return [{ startS: 0, endS: trial.durationS }];
  return [
    { startS: 0, endS: trial.nanGapS[0] },
    { startS: trial.nanGapS[1], endS: trial.durationS },
  ];
}

const cases = truth.trials.flatMap((trial, index) => [
  { trial, index, column: 15, lead: "left (15)" },
  { trial, index, column: 14, lead: "right (14)" },
]);

describe.each(cases)(
  "R peaks, trial $trial.videoId ($trial.kind), lead $lead",
  ({ trial, index, column }) => {
    const ecg = fixtureColumn(index, column);
    const result = detectRPeaks(ecg, fsHz);

    it("finds the true R peaks with F1 >= 0.995 at +/-50 ms wherever the ECG was recorded", () => {
      // Beats inside a NaN stretch were never recorded: no detector can or should find them.
      const recorded = trial.rPeakTimesS.filter((t) =>
        truthSpans(trial).some((span) => t >= span.startS && t < span.endS),
      );
      expect(trial.rPeakTimesS.length - recorded.length).toBe(trial.nanGapS ? 2 : 0);
      const { f1, precision, recall } = peakF1(result.rPeakTimesS, recorded, 0.05);
      expect(f1, `precision ${precision}, recall ${recall}`).toBeGreaterThanOrEqual(0.995);
      if (trial.nanGapS) {
        const [gapStart, gapEnd] = trial.nanGapS;
        expect(result.rPeakTimesS.filter((t) => t >= gapStart && t < gapEnd)).toEqual([]);
      }
    });

    it("labels frames within 0.5 bpm MAE of labels from the true peaks, never across the gap", () => {
      const frameCount = Math.floor(trial.durationS * 25);
      const options = { frameCount, fps: 25, windowS: 10 };
      const detected = frameHeartRates(rrIntervals(result.rPeakTimesS, result.spansS).intervals, options);
      const reference = frameHeartRates(rrIntervals(trial.rPeakTimesS, truthSpans(trial)).intervals, options);
      let sum = 0;
      let count = 0;
      let disagreeOnNull = 0;
      for (let k = 0; k < frameCount; k++) {
        const d = detected[k];
        const r = reference[k];
        if (d === null || r === null) {
          if ((d === null) !== (r === null)) disagreeOnNull++;
          continue;
        }
        sum += Math.abs(d! - r!);
        count++;
      }
      expect(count).toBeGreaterThan(frameCount * 0.7);
      expect(sum / count).toBeLessThanOrEqual(0.5);
      expect(disagreeOnNull).toBeLessThanOrEqual(Math.ceil(0.02 * frameCount));
      if (trial.nanGapS) {
        const [gapStart, gapEnd] = trial.nanGapS;
        expect(result.spansS).toHaveLength(2);
        for (const rr of rrIntervals(result.rPeakTimesS, result.spansS).intervals) {
          expect(rr.endS <= gapStart || rr.startS >= gapEnd, `RR ${rr.startS}-${rr.endS} spans the gap`).toBe(
            true,
          );
        }
      }
    });
  },
);

describe("lead polarity", () => {
  it("detects the inverted right-arm lead of trial N1 and the upright left lead", () => {
    expect(detectRPeaks(fixtureColumn(3, 14), fsHz).polarity).toBe(-1);
    expect(detectRPeaks(fixtureColumn(3, 15), fsHz).polarity).toBe(1);
  });
});
