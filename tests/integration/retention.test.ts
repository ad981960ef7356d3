import { defineStage, startStageWorkers } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitUntil } from "../harness/processes.ts";

/**
 * Retention is the workers' setting (HRPIPE_KEEP_*), whoever added the jobs: with room for 2
 * completed and 1 failed job per stage, a queue that finished 5 and failed 3 keeps 2 and 1.
 */
describe("finished jobs are kept by count per stage", () => {
  let services: TestServices;
  beforeAll(async () => {
    services = await createTestServices("retention");
  });
  afterAll(async () => {
    await services.cleanup();
  });

  it("keeps the newest completed and failed jobs up to the configured counts", async () => {
    const config = { ...services.config, worker: { keepCompletedJobs: 2, keepFailedJobs: 1 } };
    const ecg = defineStage("labels", () => async (payload) => {
      if (payload.participant === "P09") throw new Error("fails on purpose");
      return { participant: payload.participant, hash: "h", labels: [], excluded: [], reused: false };
    });
    const set = startStageWorkers([ecg], { config, logger: services.logger, storage: services.storage });
    let finished = 0;
    set.workers[0]!.on("completed", () => finished++);
    set.workers[0]!.on("failed", () => finished++);
    const queues = services.queues();
    for (let i = 1; i <= 8; i++) {
      const participant = i <= 5 ? `P0${i}` : "P09";
      await queues.add(
        "labels",
        { runId: "keep", participant, matKey: `ds/${i}.mat` },
        { jobId: `labels.keep.${i}`, attempts: 1 },
      );
    }
    await waitUntil(async () => finished === 8, "every job to finish", 30_000);
    const counts = await queues.queue("labels").getJobCounts("completed", "failed");
    expect(counts).toEqual({ completed: 2, failed: 1 });
    const kept = await queues.queue("labels").getJobs(["completed"]);
    expect(kept.map((job) => job.id).sort()).toEqual(["labels.keep.4", "labels.keep.5"]);
    await set.close();
    await queues.close();
  });
});
