import { describe, expect, it } from "vitest";
import { labelTrial } from "../src/label-trials.ts";

const options = { column: 15, fps: 25, windowS: 10, offsetS: 0 };
const context = { participant: "P01", videoId: "7", column: 15, source: "test" };

describe("labelTrial", () => {
  it("excludes a trial whose ECG column is all NaN, with the reason", () => {
    expect(labelTrial(new Float64Array(128 * 30).fill(Number.NaN), context, options)).toBe(
      "column 15 holds no ECG samples (empty or all NaN)",
    );
  });

  it("excludes a flat or noise-only trial instead of inventing beats", () => {
    const flat = new Float64Array(128 * 30).fill(0.2);
    expect(labelTrial(flat, context, options)).toMatch(/^column 15 has no usable ECG: /);
  });
});
