import { artifactKeys, runReportSchema } from "@hrpipe/contracts";
import {
  readArtifact,
  readManifest,
  type StageQueues,
  startStageWorkers,
  type WorkerSet,
} from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStages } from "../../apps/cli/src/runtime.ts";
import { runCli } from "../cli/run-cli.ts";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitForRun } from "../harness/processes.ts";

/** A run that cannot train anything still ends: failed, with a report that says why. */
describe("a run with too little data to train any protocol", () => {
  let services: TestServices;
  let workers: WorkerSet;
  let queues: StageQueues;

  beforeAll(async () => {
    services = await createTestServices("terminal-state");
    await synthDataset(services.storage, {
      participants: 1,
      videos: 1,
      seconds: 4,
      seed: 3,
      width: 128,
      height: 96,
      fps: 25,
      prefix: "one",
    });
    workers = startStageWorkers(parseStages(["all"]), services);
    queues = services.queues();
  }, 120_000);

  afterAll(async () => {
    await workers.close(true);
    await queues.close();
    await services.cleanup();
  });

  it("ends failed, with a report that explains each protocol, and status and report say so", async () => {
    const ingest = await runCli(["ingest", "one", "--run-id", "lonely"], services.env);
    expect(ingest.code, ingest.stderr).toBe(0);
    const progress = await waitForRun(queues, services.storage, "lonely", 120_000);
    expect(progress.manifest?.state).toBe("failed");
    expect(progress.stages.train.done + progress.stages.train.failed).toBe(0);
    expect(progress.stages.report).toMatchObject({ done: 1, failed: 0 });
    const report = await readArtifact(services.storage, artifactKeys.runReport("lonely"), runReportSchema);
    expect(report.state).toBe("failed");
    expect(report.notEvaluated.map((n) => n.protocol).sort()).toEqual([
      "unseen-participants",
      "unseen-videos",
    ]);
    for (const { reason } of report.notEvaluated)
      expect(reason).toMatch(/^not enough usable videos to train and test/);
    expect((await readManifest(services.storage, "lonely")).notEvaluated).toHaveLength(2);
    expect(await services.storage.exists(artifactKeys.runReportHtml("lonely"))).toBe(true);

    const status = await runCli(["status", "lonely"], services.env);
    expect(status.stdout).toMatch(/run lonely: failed, finished/);
    const printed = await runCli(["report", "lonely"], services.env);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/unseen-videos: not evaluated: not enough usable videos/);
    expect(printed.stdout).toMatch(/run lonely: failed/);
  }, 180_000);
});
