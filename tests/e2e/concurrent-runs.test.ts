import { runProgress, type StageQueues, startStageWorkers, type WorkerSet } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStages } from "../../apps/cli/src/runtime.ts";
import { runCli } from "../cli/run-cli.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitForRun, waitUntil } from "../harness/processes.ts";

/**
 * Two runs of one dataset at the same time share its content-addressed intermediates: a chunk is
 * named by its own SHA-256, so neither run rewrites the other's chunk with other bytes, and no face
 * job fails its integrity check and retries.
 */
describe("two overlapping runs of the same dataset", () => {
  let services: TestServices;
  let workers: WorkerSet;
  let reports: WorkerSet | undefined;
  let queues: StageQueues;

  beforeAll(async () => {
    services = await createTestServices("concurrent-runs");
    await synthDataset(services.storage, {
      participants: 2,
      videos: 2,
      seconds: 8,
      seed: 5,
      width: 256,
      height: 192,
      fps: 25,
      prefix: "shared",
    });
    // Every stage but the report: a run waits at its report job, so its jobs stay in Redis (the report
    // retires them) until the test has read them; the report worker starts after that.
    workers = startStageWorkers(
      parseStages(["all"]).filter((binding) => binding.stage !== "report"),
      { ...services, flags: { decode: { concurrency: 2 }, face: { concurrency: 2 } } },
    );
    queues = services.queues();
  }, 120_000);

  afterAll(async () => {
    await workers.close(true);
    await reports?.close(true);
    await queues.close();
    await services.cleanup();
  });

  it("both finish with no face job retried for a SHA-256 mismatch", async () => {
    const [a, b] = await Promise.all(
      ["overlap-a", "overlap-b"].map((runId) =>
        runCli(["ingest", "shared", "--run-id", runId, "--segment", "4"], services.env),
      ),
    );
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    // Each run's face jobs, read once the run waits at its report job: every face job has finished,
    // and nothing retires a run's jobs before the report worker starts.
    const faceJobs = [];
    for (const runId of ["overlap-a", "overlap-b"]) {
      await waitUntil(
        async () => (await queues.queue("report").getWaiting()).some((job) => job.data.runId === runId),
        `run ${runId} to wait at its report job`,
        300_000,
        200,
      );
      faceJobs.push(
        ...(await queues.queue("face").getJobs(["completed", "failed"])).filter((job) =>
          job.id?.startsWith(`face.${runId}.`),
        ),
      );
    }
    reports = startStageWorkers(parseStages(["report"]), services);
    for (const runId of ["overlap-a", "overlap-b"])
      await waitForRun(queues, services.storage, runId, 300_000);
    expect(faceJobs.length).toBeGreaterThan(0);
    // A job retried for any reason made more than one attempt (a face job that finds no face fails
    // once, as bad input, and is not retried).
    const retried = faceJobs.filter((job) => job.attemptsMade > 1);
    const shaRetries = faceJobs.filter((job) =>
      [job.failedReason ?? "", ...(job.stacktrace ?? [])].some((text) => text.includes("SHA-256")),
    );
    expect(shaRetries.map((job) => job.id)).toEqual([]);
    expect(retried.map((job) => job.id)).toEqual([]);
    for (const runId of ["overlap-a", "overlap-b"]) {
      const progress = await runProgress(queues, services.storage, runId);
      expect(progress.manifest?.state, runId).toBe("done");
      for (const failure of progress.failures) expect(failure.reason, runId).toMatch(/no face in frames/);
    }
    // Every chunk was deleted once its face job had finished.
    expect(await services.storage.list("frames/")).toEqual([]);
  }, 420_000);
});
