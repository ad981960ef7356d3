import { seededNormal } from "@hrpipe/contracts";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { predictHead, trainHead } from "../src/head.ts";
import { selectTfjsBackend, type TfjsBackendCandidate } from "../src/tfjs-backend.ts";

describe("regression head on the wasm backend", () => {
  it("recovers a known linear target from 2208-dim synthetic features (validation RMSE < 3 bpm, label sd 15 bpm)", async () => {
    const choice = await selectTfjsBackend(undefined, "wasm");
    expect(choice.name).toBe("wasm");
    const n = 1500;
    const dim = 2208;
    const latentDim = 32;
    const normal = seededNormal(7);
    // CNN features are strongly correlated: 2208 values driven by a few latent factors, plus noise.
    const projection = Float32Array.from({ length: latentDim * dim }, () => normal() / Math.sqrt(latentDim));
    const features = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const latent = Array.from({ length: latentDim }, () => normal());
      for (let d = 0; d < dim; d++) {
        let v = 0.05 * normal();
        for (let k = 0; k < latentDim; k++) v += latent[k]! * projection[k * dim + d]!;
        features[i * dim + d] = v;
      }
    }
    // The known target: a fixed linear function of all 2208 features, scaled to 80 +/- 15 bpm.
    const beta = Array.from({ length: dim }, () => normal());
    const raw = Array.from({ length: n }, (_, i) =>
      beta.reduce((s, b, d) => s + b * features[i * dim + d]!, 0),
    );
    const mean = raw.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(raw.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    const labels = Float32Array.from(raw, (v) => 80 + (15 * (v - mean)) / sd);
    const head = await trainHead(features, labels, {
      epochs: 40,
      batchSize: 32,
      learningRate: 1e-3,
      validationSplit: 0.2,
      seed: 1,
    });
    expect(head.backend).toBe("wasm");
    expect(head.curves).toHaveLength(40);
    expect(head.valIndices).toHaveLength(300);
    expect(head.curves[head.bestEpoch - 1]!.valLoss).toBe(Math.min(...head.curves.map((c) => c.valLoss)));
    expect(head.curves[39]!.trainLoss).toBeLessThan(head.curves[0]!.trainLoss / 5);
    expect(head.valRmse).toBeLessThan(3);
    const predicted = predictHead(head, features.subarray(0, 5 * dim));
    for (const [i, p] of predicted.entries()) expect(Math.abs(p - labels[i]!)).toBeLessThan(10);
  }, 120_000);
});

describe("head training is reproducible", () => {
  it("trains the same weights twice from the same data, options and seed, and others from another seed", async () => {
    await selectTfjsBackend(undefined, "wasm");
    const normal = seededNormal(3);
    const n = 200;
    const dim = 64;
    const features = Float32Array.from({ length: n * dim }, () => normal());
    const labels = Float32Array.from({ length: n }, (_, i) => 70 + 10 * features[i * dim]!);
    const options = { epochs: 4, batchSize: 16, learningRate: 1e-3, validationSplit: 0.2, seed: 5 };
    const weights = async (seed: number) => {
      const head = await trainHead(features, labels, { ...options, seed });
      const values = head.model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      head.model.dispose();
      return values;
    };
    const first = await weights(5);
    expect(await weights(5)).toEqual(first);
    expect(await weights(6)).not.toEqual(first);
  }, 60_000);
});

describe("tfjs backend fallback chain", () => {
  it("skips candidates that fail to load and records why, taking the next", async () => {
    const candidates: TfjsBackendCandidate[] = [
      {
        name: "tensorflow-gpu",
        register: () => Promise.reject(new Error("libtensorflow not downloaded")),
        tfjsName: "tensorflow",
      },
      {
        name: "tensorflow",
        register: () => import("@tensorflow/tfjs-node-gone" as string),
        tfjsName: "tensorflow",
      },
      { name: "cpu", register: async () => undefined, tfjsName: "cpu" },
    ];
    const choice = await selectTfjsBackend(candidates, undefined);
    expect(choice.name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(choice.skipped.map((s) => s.name)).toEqual(["tensorflow-gpu", "tensorflow"]);
    expect(choice.skipped[0]!.reason).toBe("libtensorflow not downloaded");
  });

  it("honours a pinned backend and rejects an unknown one by name", async () => {
    expect((await selectTfjsBackend(undefined, "wasm")).name).toBe("wasm");
    await expect(selectTfjsBackend(undefined, "tpu")).rejects.toThrow(
      /^HRPIPE_TFJS_BACKEND=tpu is not one of tensorflow-gpu, tensorflow, wasm, cpu/,
    );
  });
});
