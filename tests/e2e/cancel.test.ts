import { jobIds } from "@hrpipe/contracts";
import { readManifest, type StageQueues } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { startWorkerProcess, type WorkerProcess, waitUntil } from "../harness/processes.ts";

describe("hrpipe cancel", () => {
  let services: TestServices;
  let queues: StageQueues;
  let worker: WorkerProcess;

  beforeAll(async () => {
    services = await createTestServices("cancel");
    queues = services.queues();
    await synthDataset(services.storage, {
      participants: 2,
      videos: 1,
      seconds: 4,
      seed: 2,
      width: 128,
      height: 96,
      fps: 25,
      prefix: "d",
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop("SIGKILL");
    await queues.close();
    await services.cleanup();
  });

  it("removes a run's queued work and marks its manifest cancelled", async () => {
    // Only an ingest worker runs: the run is planned and its ecg and decode jobs wait.
    worker = startWorkerProcess(["ingest"], services.env);
    expect((await runCli(["ingest", "d", "--run-id", "stopme"], services.env)).code).toBe(0);
    await waitUntil(
      async () => (await queues.queue("decode").getWaitingCount()) === 2,
      "the planned decode jobs",
      60_000,
    );
    const result = await runCli(["cancel", "stopme"], services.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^run stopme cancelled; 5 queued jobs removed$/m);
    expect(await queues.queue("decode").getWaitingCount()).toBe(0);
    expect(await queues.queue("labels").getWaitingCount()).toBe(0);
    expect(await queues.queue("ingest").getJob(jobIds.ingest("stopme"))).toBeUndefined();
    expect((await readManifest(services.storage, "stopme")).state).toBe("cancelled");
  }, 120_000);
});
