import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { decodeSafetensors, getTensor } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { detrendSmoothnessPriors } from "../src/detrend.ts";
import { butterworthBandpass, sosFiltFilt } from "../src/filters.ts";
import { methodPulse, type RppgMethod, rppgMethods } from "../src/methods/index.ts";
import { agreement } from "../src/metrics.ts";
import { toolkitVideoHeartRateBpm } from "../src/toolkit-heart-rate.ts";

/**
 * Parity with rPPG-Toolbox: its unsupervised methods' outputs on the mean RGB of its own face crops
 * of seven UBFC-rPPG subjects (../shared/fixtures/rppg-toolbox-reference, written by the toolbox's
 * code). Same RGB in, the same pulse out.
 */
const fixtureDir = path.resolve(import.meta.dirname, "../../../../shared/fixtures/rppg-toolbox-reference");
const present = existsSync(path.join(fixtureDir, "index.json"));
if (!present && process.env.CI)
  throw new Error(`${fixtureDir} is missing; CI must have ../shared beside the checkout.`);

interface FixtureIndex {
  fsHz: number;
  subjects: Record<string, { referenceHrBpm: number; methods: Record<RppgMethod, { hrBpm: number }> }>;
}

const index: FixtureIndex = present
  ? JSON.parse(readFileSync(path.join(fixtureDir, "index.json"), "utf8"))
  : { fsHz: 30, subjects: {} };
const subjects = Object.keys(index.subjects);

/** The toolbox's POS_WANG ends with its own detrending and band-pass; hrpipe leaves that to the post-processing all methods share. */
function asToolkitReturns(method: RppgMethod, pulse: Float64Array, fsHz: number): Float64Array {
  return method === "pos"
    ? sosFiltFilt(butterworthBandpass(1, 0.75, 3, fsHz), detrendSmoothnessPriors(pulse, 100))
    : pulse;
}

/** One band-pass for both sides: the methods' in-window filters differ in edges (hrpipe's pulse band is 0.7-3 Hz, the toolbox's 0.7-2.5 Hz). */
function compared(pulse: Float64Array, fsHz: number): Float64Array {
  return sosFiltFilt(butterworthBandpass(3, 0.75, 2.5, fsHz), detrendSmoothnessPriors(pulse, 100));
}

describe.skipIf(!present)("rPPG methods against rPPG-Toolbox's outputs on the same RGB", () => {
  it("covers the seven subjects", () => {
    expect(subjects).toHaveLength(7);
  });

  it("the toolbox's per-video heart rate, recomputed here from its own pulse signals, equals its index", () => {
    for (const subject of subjects) {
      const file = decodeSafetensors(readFileSync(path.join(fixtureDir, `${subject}.safetensors`)));
      const ppg = getTensor(file, "ppg", "F64", 1).data;
      expect(toolkitVideoHeartRateBpm(ppg, index.fsHz), subject).toBe(
        index.subjects[subject]!.referenceHrBpm,
      );
      for (const method of rppgMethods) {
        const theirs = getTensor(file, `bvp_${method}`, "F64", 1).data;
        expect(toolkitVideoHeartRateBpm(theirs, index.fsHz), `${subject} ${method}`).toBe(
          index.subjects[subject]!.methods[method].hrBpm,
        );
      }
    }
  });

  it.each(rppgMethods)(
    "%s: r >= 0.99 with the toolbox's pulse and the same spectral heart rate on every subject",
    (method) => {
      for (const subject of subjects) {
        const file = decodeSafetensors(readFileSync(path.join(fixtureDir, `${subject}.safetensors`)));
        const rgb = getTensor(file, "rgb", "F64", 2).data;
        const theirs = getTensor(file, `bvp_${method}`, "F64", 1).data;
        // The toolbox's CHROM drops the frames after its last whole window; compare what both cover.
        const ours = asToolkitReturns(method, methodPulse(method, rgb, index.fsHz), index.fsHz).subarray(
          0,
          theirs.length,
        );
        expect(
          agreement(compared(ours, index.fsHz), compared(theirs, index.fsHz)).pearsonR,
          subject,
        ).toBeGreaterThanOrEqual(0.99);
        expect(toolkitVideoHeartRateBpm(ours, index.fsHz), subject).toBe(
          index.subjects[subject]!.methods[method].hrBpm,
        );
      }
    },
  );
});
