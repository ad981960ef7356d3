import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  artifactKeys,
  decodeFeaturesShard,
  encodeFacesShard,
  type FeaturesOptions,
  featuresOptionsSchema,
  weightsProvenanceSchema,
} from "@hrpipe/contracts";
import { FeatureExtractor } from "@hrpipe/model";
import { FileStorage, readArtifact } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FeaturesJobInput, featuresKeyFor, processFeaturesJob, rowsAtRate } from "../src/processor.ts";

describe("rowsAtRate: which face frames the features stage embeds", () => {
  const frames = Int32Array.from({ length: 50 }, (_, i) => 250 + i);

  it("keeps the first face frame of each 1/fps interval of video time", () => {
    expect(rowsAtRate(frames, 25, 5)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    // Frames without a face (missing rows) move the pick to the next face frame of the interval.
    const gappy = Int32Array.of(250, 251, 257, 259, 262, 270);
    expect(rowsAtRate(gappy, 25, 5).map((row) => gappy[row])).toEqual([250, 257, 262, 270]);
  });

  it("keeps every frame without a rate or with one at or above the video's", () => {
    expect(rowsAtRate(frames, 25, null)).toHaveLength(50);
    expect(rowsAtRate(frames, 25, 30)).toHaveLength(50);
  });

  it("counts intervals from the video's first frame, so segments agree wherever they are cut", () => {
    const whole = Int32Array.from({ length: 60 }, (_, i) => i);
    const picked = rowsAtRate(whole, 30, 4).map((row) => whole[row]);
    const [a, b] = [whole.subarray(0, 23), whole.subarray(23)];
    const pieces = [...rowsAtRate(a, 30, 4).map((r) => a[r]), ...rowsAtRate(b, 30, 4).map((r) => b[r])];
    expect(pieces).toEqual(picked);
  });
});

describe("processFeaturesJob", () => {
  let dir: string;
  let storage: FileStorage;
  let extractor: FeatureExtractor;
  const cropSize = 32;
  const count = 40;
  const facesKey = "faces/h1/P01/4/0000.safetensors";
  const options = (over: Partial<FeaturesOptions> = {}) => ({ ...featuresOptionsSchema.parse({}), ...over });
  const input = (over: Partial<FeaturesOptions> = {}): FeaturesJobInput => ({
    participant: "P01",
    videoId: "4",
    segment: 0,
    facesKey,
    fps: 25,
    options: options(over),
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-features-"));
    storage = new FileStorage(dir);
    extractor = await FeatureExtractor.create({
      config: { growthRate: 8, blockConfig: [2, 2], numInitFeatures: 16, bnSize: 4 },
      seed: 3,
      batchSize: 8,
    });
    const images = Uint8Array.from({ length: count * cropSize * cropSize * 3 }, (_, i) => (i * 37) % 251);
    await storage.put(
      facesKey,
      encodeFacesShard(
        {
          images,
          cropSize,
          frameIndex: Int32Array.from({ length: count }, (_, i) => i),
          timeS: Float32Array.from({ length: count }, (_, i) => i / 25),
          box: new Float32Array(count * 4),
        },
        { participant: "P01", videoId: "4", segment: 0, detector: "tiny", detectEvery: 8 },
      ),
    );
  });

  afterAll(async () => {
    await extractor.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("embeds every face crop and stores the shard under the crops, weights and options", async () => {
    const batches: number[] = [];
    const result = await processFeaturesJob(input(), {
      storage,
      extractor,
      progress: (done) => batches.push(done),
    });
    expect(result).toMatchObject({ frames: count, reused: false, executionProvider: "cpu", batchSize: 8 });
    expect(result.weightsHash).toBe(extractor.provenance.weightsHash);
    // The backbone's provenance is stored once, for the gather to put in the manifest.
    expect(
      await readArtifact(storage, artifactKeys.backbone(result.weightsHash), weightsProvenanceSchema),
    ).toEqual(extractor.provenance);
    expect(batches).toEqual([8, 16, 24, 32, 40]);
    const shard = decodeFeaturesShard(await storage.get(result.featuresKey), result.featuresKey);
    expect(shard.frameIndex).toEqual(Int32Array.from({ length: count }, (_, i) => i));
    expect(shard.featureDim).toBe(extractor.featureDim);
  });

  it("reuses an existing shard without reading the crops", async () => {
    const first = await processFeaturesJob(input(), { storage, extractor });
    const crops = await storage.get(facesKey);
    await storage.delete(facesKey);
    try {
      const again = await processFeaturesJob(input(), { storage, extractor });
      expect(again).toMatchObject({ featuresKey: first.featuresKey, frames: -1, reused: true });
    } finally {
      await storage.put(facesKey, crops);
    }
  });

  it("embeds only the frames --features-fps keeps, under another address", async () => {
    const every = await processFeaturesJob(input(), { storage, extractor });
    const five = await processFeaturesJob(input({ fps: 5 }), { storage, extractor });
    expect(five.featuresKey).not.toBe(every.featuresKey);
    expect(five.frames).toBe(count / 5);
    const full = decodeFeaturesShard(await storage.get(every.featuresKey), every.featuresKey);
    const sub = decodeFeaturesShard(await storage.get(five.featuresKey), five.featuresKey);
    expect([...sub.frameIndex]).toEqual([0, 5, 10, 15, 20, 25, 30, 35]);
    // The same crops give the same features, whichever batch they fell in.
    const dim = full.featureDim;
    for (const [row, frame] of sub.frameIndex.entries())
      for (let d = 0; d < dim; d += 17)
        expect(sub.features[row * dim + d]).toBeCloseTo(full.features[frame * dim + d]!, 4);
  });

  it("stores float16 at half the bytes, read back within half precision", async () => {
    const f32 = await processFeaturesJob(input(), { storage, extractor });
    const f16 = await processFeaturesJob(input({ dtype: "float16" }), { storage, extractor });
    const [a, b] = [await storage.get(f32.featuresKey), await storage.get(f16.featuresKey)];
    expect(b.length).toBeLessThan(a.length * 0.55);
    const [full, half] = [decodeFeaturesShard(a, "f32"), decodeFeaturesShard(b, "f16")];
    for (const [i, value] of full.features.entries())
      expect(Math.abs(half.features[i]! - value)).toBeLessThanOrEqual(Math.abs(value) * 2 ** -11 + 1e-7);
  });

  it("writes nothing when the backbone fails mid-job, so a retry starts clean", async () => {
    const failing = {
      provenance: extractor.provenance,
      featureDim: extractor.featureDim,
      batchSize: 8,
      executionProvider: "cpu",
      embed: async () => {
        throw new Error("killed");
      },
    };
    const job = processFeaturesJob(input({ fps: 2 }), { storage, extractor: failing });
    await expect(job).rejects.toThrow("killed");
    expect(await storage.exists(featuresKeyFor(input({ fps: 2 }), extractor.provenance.weightsHash))).toBe(
      false,
    );
  });
});
