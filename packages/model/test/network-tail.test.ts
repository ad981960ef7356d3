import { seededNormal } from "@hrpipe/contracts";
import { type NetworkTail, type NormalisedMeanTail, tailPulse } from "@hrpipe/signal";
import { describe, expect, it } from "vitest";
import {
  beatPulseTarget,
  diffNormalizedTarget,
  pulseTarget,
  type TuningVideo,
  tuneTail,
  tuningChunks,
} from "../src/network-tail.ts";

const fsHz = 30;
const [channels, positions] = [8, 2];

/**
 * A video whose tail activations (8 channels at 2 positions) hold a 72-bpm pulse (channel 0, weakly
 * noisy), a 130-bpm distractor (channel 1, strong) and noise (the rest): a tail that weighs channel 1
 * finds the wrong rate, one that weighs channel 0 the right one.
 */
function video(seed: number, frames = 900): TuningVideo & { pulse: Float64Array } {
  const noise = seededNormal(seed);
  const activations = new Float32Array(frames * channels * positions);
  const pulse = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    pulse[t] = Math.sin(2 * Math.PI * 1.2 * (t / fsHz) + seed);
    const distractor = 2 * Math.sin(2 * Math.PI * 2.17 * (t / fsHz));
    for (let p = 0; p < positions; p++) {
      const at = (channel: number) => (t * channels + channel) * positions + p;
      activations[at(0)] = pulse[t]! + 0.3 * noise();
      activations[at(1)] = distractor + 0.3 * noise();
      for (let c = 2; c < channels; c++) activations[at(c)] = noise();
    }
  }
  return { activations, positions, target: pulse, pulse };
}

const pearson = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  const n = a.length;
  const ma = Array.from(a).reduce((s, v) => s + v, 0) / n;
  const mb = Array.from(b).reduce((s, v) => s + v, 0) / n;
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

const tailOf = (scale: number[], weight: number[]): NormalisedMeanTail => ({
  kind: "normalised-mean",
  scale: Float64Array.from(scale),
  shift: new Float64Array(channels),
  weight: Float64Array.from(weight),
  bias: 0.3,
});

describe("fine-tuning a network's tail (last normalisation and last layer) with negative Pearson on cached activations", () => {
  const imported = tailOf(Array(channels).fill(1), [0.05, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  const train = [video(1), video(2), video(3)];
  const validation = [video(4)];
  const test = video(5);
  const testR = (tail: NetworkTail) => pearson(tailPulse(test.activations, positions, tail), test.pulse);

  it("moves the weights from the distractor to the pulse, judged on a video it never saw", () => {
    const tuning = tuneTail(train, validation, imported, { seed: 7 });
    expect(testR(imported)).toBeLessThan(0.2);
    expect(testR(tuning.tail)).toBeGreaterThan(0.9);
    expect(tuning.tail.bias).toBe(imported.bias);
    expect(tuning.curve[0]!.epoch).toBe(0);
    expect(tuning.curve[tuning.bestEpoch]!.validationLoss).toBeLessThan(tuning.curve[0]!.validationLoss);
    // 900 frames make 7 chunks of 128 per video.
    expect([tuning.trainChunks, tuning.validationChunks]).toEqual([21, 7]);
  });

  it("trains the normalisation too: with the last layer frozen, rescaling the channels finds the pulse", () => {
    // Equal weights, but the pulse's channel all but scaled away and the distractor's kept.
    const muted = tailOf([0.02, 1, 1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 0, 0]);
    const tuning = tuneTail(train, validation, muted, {
      seed: 7,
      learningRate: 0,
      normalisationLearningRate: 0.02,
    });
    expect(Array.from(tuning.tail.weight)).toEqual(Array.from(muted.weight));
    expect(testR(muted)).toBeLessThan(0.2);
    expect(testR(tuning.tail)).toBeGreaterThan(0.9);
    expect(Math.abs(tuning.tail.scale[0]!)).toBeGreaterThan(Math.abs(tuning.tail.scale[1]!));
  });

  it("is reproducible: the same seed gives the same tail, another seed another order", () => {
    const a = tuneTail(train, validation, imported, { seed: 7, epochs: 20 });
    const b = tuneTail(train, validation, imported, { seed: 7, epochs: 20 });
    const c = tuneTail(train, validation, imported, { seed: 8, epochs: 20 });
    expect(a.tail).toEqual(b.tail);
    expect(Array.from(a.tail.weight)).not.toEqual(Array.from(c.tail.weight));
  });

  it("stops `patience` epochs after its best validation loss, and keeps the tail of that epoch", () => {
    // Targets that are noise, and large steps: the validation loss soon stops improving.
    const noisy = (seed: number) => {
      const noise = seededNormal(seed + 100);
      return { ...video(seed), target: Float64Array.from({ length: 900 }, () => noise()) };
    };
    const tuning = tuneTail([noisy(1), noisy(2)], [noisy(3)], imported, {
      patience: 5,
      epochs: 200,
      learningRate: 0.5,
    });
    expect(tuning.curve.length).toBeLessThan(200);
    expect(tuning.curve.length - 1 - tuning.bestEpoch).toBe(5);
    const best = Math.min(...tuning.curve.map((entry) => entry.validationLoss));
    expect(tuning.curve[tuning.bestEpoch]!.validationLoss).toBe(best);
    // No epoch at all: the imported tail.
    const none = tuneTail(train, validation, imported, { epochs: 0 });
    expect(none.tail).toEqual(imported);
  });

  it("tunes a last layer that convolves over time (FactorizePhys's) from the distractor to the pulse", () => {
    // Weights [channels, 3 taps, positions]: the imported layer reads the distractor's channel at frame t.
    const weight = new Float64Array(channels * 3 * positions);
    weight[(1 * 3 + 1) * positions] = 1;
    weight[(0 * 3 + 1) * positions] = 0.05;
    const conv = { kind: "temporal-conv" as const, weight, taps: 3 };
    expect(testR(conv)).toBeLessThan(0.2);
    const tuning = tuneTail(train, validation, conv, { seed: 7 });
    expect(testR(tuning.tail)).toBeGreaterThan(0.9);
    expect(tuning.tail.taps).toBe(3);
    expect(tuning.curve[tuning.bestEpoch]!.validationLoss).toBeLessThan(tuning.curve[0]!.validationLoss);
  });

  it("uses only chunks of usable frames, and refuses to tune on none", () => {
    const unusable = { ...video(1), usable: new Uint8Array(900).fill(1) };
    unusable.usable[200] = 0;
    // Frames 0-199 hold one chunk (0-127); 201-899 hold five more.
    expect(tuningChunks([unusable], 128)).toHaveLength(6);
    expect(() => tuneTail([video(1, 100)], [], imported)).toThrow(/no training chunk of 128 usable frames/);
  });

  it("makes PhysNet's DiffNormalized label: the next frame's difference over their standard deviation", () => {
    const label = diffNormalizedTarget([0, 1, 3, 6, 6, Number.NaN, 2]);
    // Differences 1, 2, 3, 0: mean 1.5, standard deviation sqrt(1.25); none across the missing frame.
    expect(Array.from(label.subarray(0, 4))).toEqual(
      [1, 2, 3, 0].map((d) => (d - 1.5 + 1.5) / Math.sqrt(1.25)),
    );
    expect(Array.from(label.subarray(4)).every(Number.isNaN)).toBe(true);
  });

  it("makes FactorizePhys's Standardized label: zero mean and unit deviation over the frames with a value", () => {
    const label = pulseTarget([1, 3, Number.NaN, 5], "standardized");
    expect(label[0]).toBeCloseTo(-Math.sqrt(1.5), 12);
    expect(label[1]).toBe(0);
    expect(label[2]).toBeNaN();
    expect(label[3]).toBeCloseTo(Math.sqrt(1.5), 12);
  });

  it("makes a DiffNormalized target from beats: a wave falling right after each beat, NaN outside them", () => {
    const fps = 30;
    // Beats every second from 1 s to 9 s, then a 5-s gap (a lost reference), then two more.
    const beats = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15];
    const target = beatPulseTarget(beats, 20 * fps, fps);
    expect(target.subarray(0, fps).every(Number.isNaN)).toBe(true);
    expect(target.subarray(10 * fps, 13 * fps).every(Number.isNaN)).toBe(true);
    const inside = Array.from(target.subarray(fps, 9 * fps - 1));
    expect(inside.every(Number.isFinite)).toBe(true);
    // Unit standard deviation over the usable frames, and the wave at the beat's rate (1 Hz).
    const mean = inside.reduce((s, v) => s + v, 0) / inside.length;
    expect(Math.sqrt(inside.reduce((s, v) => s + (v - mean) ** 2, 0) / inside.length)).toBeCloseTo(1, 1);
    const quarter = Math.round(fps / 4);
    // Falling after each beat, rising before the next one.
    expect(target[2 * fps + quarter]!).toBeLessThan(0);
    expect(target[3 * fps - quarter]!).toBeGreaterThan(0);
  });
});
