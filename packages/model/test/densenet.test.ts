import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeSafetensors, getTensor } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { BackboneThread } from "../src/backbone-thread.ts";
import { backboneParameterCount, type DenseNetConfig, densenet161, featureDim } from "../src/densenet.ts";
import { FeatureExtractor } from "../src/feature-extractor.ts";

const tiny = path.resolve(import.meta.dirname, "../../../../shared/fixtures/densenet-tiny");

describe("DenseNet in the torchvision layout", () => {
  it("DenseNet-161 has torchvision's 26,472,000 backbone parameters and 2208 features", () => {
    expect(backboneParameterCount(densenet161)).toBe(26_472_000);
    expect(featureDim(densenet161)).toBe(2208);
  });

  it("reproduces torchvision's features for the tiny fixture within 1e-4 of the largest feature", async () => {
    const config = JSON.parse(readFileSync(path.join(tiny, "config.json"), "utf8")) as DenseNetConfig & {
      featureDim: number;
    };
    expect(featureDim(config)).toBe(config.featureDim);
    const weightsFile = path.join(tiny, "weights.safetensors");
    const extractor = await FeatureExtractor.create({
      config,
      weights: { bytes: readFileSync(weightsFile), source: weightsFile },
      batchSize: 3,
    });
    const images = getTensor(
      decodeSafetensors(readFileSync(path.join(tiny, "inputs.safetensors"))),
      "images",
      "U8",
      4,
    );
    const expected = getTensor(
      decodeSafetensors(readFileSync(path.join(tiny, "expected.safetensors"))),
      "features",
      "F32",
      2,
    );
    const [count, height, width] = images.shape as [number, number, number];
    const features = await extractor.embed(images.data, { count, height, width });
    await extractor.close();
    const maxExpected = Math.max(...expected.data.map(Math.abs));
    const maxError = Math.max(...features.map((v, i) => Math.abs(v - expected.data[i]!)));
    expect(features.length).toBe(expected.data.length);
    expect(maxError).toBeLessThanOrEqual(1e-4 * maxExpected);
    expect(extractor.provenance.kind).toBe("pretrained");
  });

  it("without weights initialises randomly and says so in its provenance", async () => {
    const config = { growthRate: 8, blockConfig: [2, 2], numInitFeatures: 16, bnSize: 4 };
    const extractor = await FeatureExtractor.create({ config, seed: 3 });
    expect(extractor.provenance).toMatchObject({ kind: "random-init", source: "seed 3" });
    expect(extractor.provenance.note).toMatch(/RANDOMLY INITIALISED.*not ImageNet-pretrained/);
    const features = await extractor.embed(new Uint8Array(2 * 32 * 32 * 3).fill(128), {
      count: 2,
      height: 32,
      width: 32,
    });
    expect(features.length).toBe(2 * featureDim(config));
    await extractor.close();
  });

  it("names the tensor and the file when weights do not fit the config", async () => {
    const weightsFile = path.join(tiny, "weights.safetensors");
    await expect(
      FeatureExtractor.create({
        config: densenet161,
        weights: { bytes: readFileSync(weightsFile), source: "weights.safetensors" },
      }),
    ).rejects.toThrow(
      /^weights\.safetensors: tensor features\.conv0\.weight has shape \[16,3,7,7\] but the config needs \[96,3,7,7\]; check --arch\.$/,
    );
  });
});

describe("BackboneThread", () => {
  it("embeds on its own thread exactly as the backbone does in this one", async () => {
    const config = { growthRate: 8, blockConfig: [2, 2], numInitFeatures: 16, bnSize: 4 };
    const here = await FeatureExtractor.create({ config, seed: 5, batchSize: 4 });
    const thread = await BackboneThread.start({ config, seed: 5, batchSize: 4 });
    try {
      expect(thread.provenance).toEqual(here.provenance);
      expect([thread.featureDim, thread.batchSize, thread.executionProvider]).toEqual([
        here.featureDim,
        4,
        "cpu",
      ]);
      const shape = { count: 10, height: 32, width: 32 };
      const images = Uint8Array.from({ length: 10 * 32 * 32 * 3 }, (_, i) => (i * 13) % 256);
      const batches: number[] = [];
      const [threaded, local] = await Promise.all([
        thread.embed(images, shape, (done) => batches.push(done)),
        here.embed(images, shape),
      ]);
      expect(batches).toEqual([4, 8, 10]);
      expect(threaded).toEqual(local);
      await expect(thread.embed(images, { ...shape, count: 11 })).rejects.toThrow(/needs/);
    } finally {
      await thread.close();
      await here.close();
    }
  });
});
