import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  artifactKeys,
  formatVersions,
  headFiles,
  type TunedNetwork,
  trainOptionsSchema,
} from "@hrpipe/contracts";
import { BadInputError, FileStorage, writeManifest } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plannedRunManifest } from "../../../tests/harness/manifests.ts";
import { processTrainJob } from "../src/processor.ts";

const network = { name: "physnet-pure", hash: "m1", architecture: "physnet" as const, trainedOn: "PURE" };

/** What an earlier run's train stage leaves for a fine-tuned network. */
const tunedByEarlierRun: TunedNetwork = {
  format: "hrpipe-tuned-network",
  version: formatVersions.tuned,
  hash: "t1",
  network: { name: "physnet-pure", hash: "m1" },
  layers: ["upsample2.1", "ConvBlock10"],
  tail: {
    kind: "normalised-mean",
    scale: Array.from({ length: 64 }, () => 1),
    shift: Array.from({ length: 64 }, () => 0),
    weight: Array.from({ length: 64 }, (_, i) => i / 64),
    bias: 0.1,
  },
  loss: "negative Pearson correlation over 128-frame chunks",
  target: "the reference's PPG waveform, DiffNormalized",
  options: {
    chunkFrames: 128,
    epochs: 300,
    patience: 30,
    learningRate: 0.01,
    normalisationLearningRate: 0.001,
    batchChunks: 8,
    seed: 1,
  },
  trainVideos: ["P01/4", "P02/4"],
  validationVideos: ["P03/4"],
  bestEpoch: 12,
  curve: [{ epoch: 0, trainLoss: 0.9, validationLoss: 0.95 }],
  trainChunks: 40,
  validationChunks: 10,
  framesPerS: 1e6,
  device: "cpu",
};

/** cross-dataset: a run tests the head an earlier run trained, without training one. */
describe("the train job of the cross-dataset protocol", () => {
  let dir: string;
  let storage: FileStorage;
  const options = trainOptionsSchema.parse({});

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-cross-dataset-"));
    storage = new FileStorage(dir);
    for (const file of headFiles)
      await storage.put(
        artifactKeys.model("amigos-run", "unseen-participants", file),
        file === "head.json"
          ? JSON.stringify({
              inputDim: 2208,
              labelMean: 75,
              labelStd: 10,
              bestEpoch: 4,
              backend: "cpu",
              samples: 5000,
              valRmseBpm: 9.5,
            })
          : `bytes of ${file}`,
      );
    await storage.put(
      artifactKeys.model("amigos-run", "unseen-participants", "provenance.json"),
      JSON.stringify({
        weights: {
          kind: "random-init",
          source: "seed 1",
          weightsHash: "w",
          config: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, bnSize: 4 },
          note: "",
        },
        backend: "cpu",
        options,
        trainVideos: ["P01/4", "P02/4"],
        headHash: "h",
      }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** This run's cross-dataset train job, testing what `trainedOn` trained. */
  const crossDataset = (trainedOn: { runId: string; protocol: "unseen-participants" | "unseen-videos" }) =>
    processTrainJob({ runId: "ubfc-run", protocol: "cross-dataset", options, trainedOn }, { storage });

  /** This run's manifest: a CNN, and the networks it names. */
  async function thisRun(networks: (typeof network)[]) {
    const manifest = plannedRunManifest("ubfc-run", storage.url);
    await writeManifest(storage, {
      ...manifest,
      options: { ...manifest.options, cnn: "densenet", neural: networks.map((n) => n.name) },
      networks,
    });
  }

  it("copies that run's head and provenance into this run's models folder and says nothing was trained", async () => {
    await thisRun([]);
    const result = await crossDataset({ runId: "amigos-run", protocol: "unseen-participants" });
    expect(result.head).toMatchObject({ headHash: "h", trainVideos: 2, samples: 5000, reused: true });
    expect(result.networks).toEqual([]);
    for (const file of [...headFiles, "provenance.json" as const])
      expect(await storage.get(artifactKeys.model("ubfc-run", "cross-dataset", file))).toEqual(
        await storage.get(artifactKeys.model("amigos-run", "unseen-participants", file)),
      );
  });

  it("refuses a run that trained no such head, naming it and what to do", async () => {
    await thisRun([]);
    const job = crossDataset({ runId: "amigos-run", protocol: "unseen-videos" });
    await expect(job).rejects.toThrow(BadInputError);
    await expect(job).rejects.toThrow(/run amigos-run has no trained head for unseen-videos.*train it first/);
  });

  it("adopts the network that run fine-tuned, as <name>-ft of this run's cross-dataset protocol", async () => {
    await storage.put(
      artifactKeys.runTunedNetwork("amigos-run", "unseen-participants", "physnet-pure"),
      JSON.stringify(tunedByEarlierRun),
    );
    await thisRun([network]);
    const result = await crossDataset({ runId: "amigos-run", protocol: "unseen-participants" });
    expect(result.networks).toEqual([
      { name: "physnet-pure", tunedHash: "t1", trainVideos: 2, bestEpoch: 12, reused: true },
    ]);
    expect(
      JSON.parse(
        (
          await storage.get(artifactKeys.runTunedNetwork("ubfc-run", "cross-dataset", "physnet-pure"))
        ).toString(),
      ),
    ).toEqual(tunedByEarlierRun);
  });

  it("refuses a network the run did not fine-tune, or one whose name now points at other weights", async () => {
    await thisRun([network]);
    await expect(crossDataset({ runId: "amigos-run", protocol: "unseen-videos" })).rejects.toThrow(
      /run amigos-run has no trained head for unseen-videos/,
    );
    const head = async (runId: string) => {
      for (const file of [...headFiles, "provenance.json" as const])
        await storage.put(
          artifactKeys.model(runId, "unseen-participants", file),
          await storage.get(artifactKeys.model("amigos-run", "unseen-participants", file)),
        );
    };
    await head("other-run");
    await expect(crossDataset({ runId: "other-run", protocol: "unseen-participants" })).rejects.toThrow(
      /run other-run has no fine-tuned physnet-pure for unseen-participants .*--neural physnet-pure first/,
    );
    await thisRun([{ ...network, hash: "m2" }]);
    await expect(crossDataset({ runId: "amigos-run", protocol: "unseen-participants" })).rejects.toThrow(
      /fine-tuned physnet-pure from model m1, but the name now points at m2/,
    );
  });
});
