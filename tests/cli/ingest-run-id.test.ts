import { readFileSync } from "node:fs";
import path from "node:path";
import { jobIds } from "@hrpipe/contracts";
import { readManifest, type StageQueues, startStageWorkers, type WorkerSet } from "@hrpipe/runtime";
import { ingestStage } from "@hrpipe/worker-ingest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitUntil } from "../harness/processes.ts";
import { repoRoot, runCli } from "./run-cli.ts";

const mat = readFileSync(path.resolve(repoRoot, "../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat"));

/** A run id names one run: reusing it is refused, or with --resume continues that very run. */
describe("hrpipe ingest --run-id", () => {
  let services: TestServices;
  let ingest: WorkerSet;
  let queues: StageQueues;

  beforeAll(async () => {
    services = await createTestServices("ingest-run-id");
    for (const dataset of ["ds1", "ds2"]) {
      await services.storage.put(`${dataset}/Data_Preprocessed_P01.mat`, mat);
      await services.storage.put(`${dataset}/P01_4_face.mov`, "a video nobody decodes here");
    }
    // Only an ingest worker: the run is planned, then waits for ecg and decode jobs nobody takes.
    ingest = startStageWorkers([ingestStage], services);
    queues = services.queues();
  });

  afterAll(async () => {
    await ingest.close(true);
    await queues.close();
    await services.cleanup();
  });

  it("queues a new run id, then refuses it again with a non-zero exit and says why", async () => {
    const first = await runCli(["ingest", "ds1", "--run-id", "r1", "--epochs", "2"], services.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/queued as r1/);
    await waitUntil(
      async () => (await readManifest(services.storage, "r1").catch(() => undefined))?.state === "planned",
      "run r1 to be planned",
      30_000,
    );
    for (const args of [
      ["ingest", "ds1", "--run-id", "r1", "--epochs", "2"],
      ["ingest", "ds2", "--run-id", "r1"],
    ]) {
      const again = await runCli(args, services.env);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(
        /^hrpipe: run id r1 is already used \(ingest job waiting-children, manifest planned, dataset ds1\); choose another --run-id, or pass --resume/,
      );
      expect(again.stdout).toBe("");
    }
  });

  it("--resume continues only with the same dataset and options, and says what happened", async () => {
    const same = await runCli(["ingest", "ds1", "--run-id", "r1", "--epochs", "2", "--resume"], services.env);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/run r1 is still in progress; nothing was added/);
    const otherOptions = await runCli(
      ["ingest", "ds1", "--run-id", "r1", "--epochs", "3", "--resume"],
      services.env,
    );
    expect(otherOptions.code).toBe(2);
    expect(otherOptions.stderr).toMatch(/run r1 was started with another train options; --resume continues/);
    const otherData = await runCli(
      ["ingest", "ds2", "--run-id", "r1", "--epochs", "2", "--resume"],
      services.env,
    );
    expect(otherData.code).toBe(2);
    expect(otherData.stderr).toMatch(/run r1 was started with another dataset ds1/);
    // Still exactly one ingest job for the run.
    expect(await queues.queue("ingest").getJob(jobIds.ingest("r1"))).toBeDefined();
    const counts = await queues.queue("ingest").getJobCounts("completed", "waiting-children", "waiting");
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(1);
  });
});
