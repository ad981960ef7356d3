import { describe, expect, it } from "vitest";
import { agreement, bandAgreement, mean, median } from "../src/metrics.ts";

describe("agreement metrics, against values worked out by hand", () => {
  // estimate 62, 70, 81, 90 against reference 60, 72, 80, 88: differences 2, -2, 1, 2.
  const m = agreement([62, 70, 81, 90], [60, 72, 80, 88]);

  it("RMSE, MAE and MAPE", () => {
    expect(m.rmse).toBeCloseTo(Math.sqrt((4 + 4 + 1 + 4) / 4), 12); // sqrt(13/4) = 1.8028
    expect(m.mae).toBeCloseTo(7 / 4, 12);
    expect(m.mape).toBeCloseTo((100 * (2 / 60 + 2 / 72 + 1 / 80 + 2 / 88)) / 4, 10);
  });

  it("Bland-Altman bias and 95% limits with the sample sd of differences", () => {
    expect(m.bias).toBeCloseTo(3 / 4, 12);
    // deviations from 0.75: 1.25, -2.75, 0.25, 1.25; squares sum 1.5625 + 7.5625 + 0.0625 + 1.5625 = 10.75
    const sd = Math.sqrt(10.75 / 3);
    expect(m.loaLower).toBeCloseTo(0.75 - 1.96 * sd, 12);
    expect(m.loaUpper).toBeCloseTo(0.75 + 1.96 * sd, 12);
  });

  it("Pearson r", () => {
    // means 75.75 and 75; deviations e: -13.75, -5.75, 5.25, 14.25; r: -15, -3, 5, 13
    const cov = 206.25 + 17.25 + 26.25 + 185.25;
    const ve = 189.0625 + 33.0625 + 27.5625 + 203.0625;
    const vr = 225 + 9 + 25 + 169;
    expect(m.pearsonR).toBeCloseTo(cov / Math.sqrt(ve * vr), 12);
    expect(agreement([1, 2, 3], [2, 4, 6]).pearsonR).toBeCloseTo(1, 12);
    expect(agreement([5, 5, 5], [1, 2, 3]).pearsonR).toBeNaN();
  });

  it("mean and median over participants", () => {
    expect(mean([27, 3, 12])).toBe(14);
    expect(median([27, 3, 12])).toBe(12);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(agreement([], []).n).toBe(0);
  });
});

describe("heart-rate bands", () => {
  it("confusion matrix, accuracy and macro-F1, worked out by hand", () => {
    // reference bands: <60, 60-80, 60-80, 80-100, >=100; estimates: <60, 60-80, 80-100, 80-100, 80-100
    const bands = bandAgreement([55, 70, 85, 90, 99], [58, 65, 79, 95, 120]);
    expect(bands.bands).toEqual(["<60", "60-80", "80-100", ">=100"]);
    expect(bands.confusion).toEqual([
      [1, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 1, 0],
      [0, 0, 1, 0],
    ]);
    expect(bands.accuracy).toBeCloseTo(3 / 5, 12);
    // F1 per band: <60: 1; 60-80: 2*1/(2+1) = 2/3; 80-100: 2*1/(1+3) = 1/2; >=100: 0.
    expect(bands.macroF1).toBeCloseTo((1 + 2 / 3 + 1 / 2 + 0) / 4, 12);
  });
});
