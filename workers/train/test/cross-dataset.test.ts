import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifactKeys, headFiles, trainOptionsSchema } from "@hrpipe/contracts";
import { BadInputError, FileStorage } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processTrainJob } from "../src/processor.ts";

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

  it("copies that run's head and provenance into this run's models folder and says nothing was trained", async () => {
    const result = await processTrainJob(
      {
        runId: "ubfc-run",
        protocol: "cross-dataset",
        options,
        trainedOn: { runId: "amigos-run", protocol: "unseen-participants" },
      },
      { storage },
    );
    expect(result).toMatchObject({ headHash: "h", trainVideos: 2, samples: 5000, reused: true });
    for (const file of [...headFiles, "provenance.json" as const])
      expect(await storage.get(artifactKeys.model("ubfc-run", "cross-dataset", file))).toEqual(
        await storage.get(artifactKeys.model("amigos-run", "unseen-participants", file)),
      );
  });

  it("refuses a run that trained no such head, naming it and what to do", async () => {
    const job = processTrainJob(
      {
        runId: "ubfc-run",
        protocol: "cross-dataset",
        options,
        trainedOn: { runId: "amigos-run", protocol: "unseen-videos" },
      },
      { storage },
    );
    await expect(job).rejects.toThrow(BadInputError);
    await expect(job).rejects.toThrow(/run amigos-run has no trained head for unseen-videos.*train it first/);
  });
});
