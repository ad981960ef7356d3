import { readFileSync } from "node:fs";
import path from "node:path";
import type { LabelsJobResult, TrialLabels } from "@hrpipe/contracts";
import { createRedisConnection, StageQueues, startStageWorkers, type WorkerSet } from "@hrpipe/runtime";
import { labelsStage } from "@hrpipe/worker-labels";
import { QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";

const fixture = path.resolve(
  import.meta.dirname,
  "../../../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat",
);

describe("labels worker through the harness's Redis and S3", () => {
  let services: TestServices;
  let queues: StageQueues;
  let worker: WorkerSet;
  let events: QueueEvents;
  const producer = () => createRedisConnection(services.redisUrl, "producer");

  beforeAll(async () => {
    services = await createTestServices("labels-worker");
    queues = new StageQueues({ connection: producer(), prefix: services.queuePrefix });
    worker = startStageWorkers([labelsStage], services);
    events = new QueueEvents("labels", {
      connection: createRedisConnection(services.redisUrl, "worker"),
      prefix: services.queuePrefix,
    });
    await events.waitUntilReady();
    await services.storage.put("amigos/Data_Preprocessed_P01.mat", readFileSync(fixture));
    const bytes = readFileSync(fixture);
    await services.storage.put(
      "amigos/Data_Preprocessed_P02.mat",
      bytes.subarray(0, Math.floor(bytes.length / 3)),
    );
  });

  afterAll(async () => {
    await worker.close();
    await events.close();
    await queues.close();
    await services.cleanup();
  });

  it("turns a labels job into one label object per trial, then skips an identical second job", async () => {
    const payload = { runId: "run-ecg", participant: "P01", matKey: "amigos/Data_Preprocessed_P01.mat" };
    const first = (await (
      await queues.add("labels", payload)
    ).waitUntilFinished(events, 30_000)) as LabelsJobResult;
    expect(first.reused).toBe(false);
    expect(first.excluded).toEqual([]);
    expect(first.labels.map((l) => l.videoId)).toEqual(["4", "5", "9", "N1"]);
    const objects = await services.storage.list(`labels/${first.hash}/P01/`);
    expect(objects.map((o) => o.key)).toEqual([
      `labels/${first.hash}/P01/4.json`,
      `labels/${first.hash}/P01/5.json`,
      `labels/${first.hash}/P01/9.json`,
      `labels/${first.hash}/P01/N1.json`,
      `labels/${first.hash}/P01/_summary.json`,
    ]);
    const label = JSON.parse(
      (await services.storage.get(`labels/${first.hash}/P01/9.json`)).toString(),
    ) as TrialLabels;
    expect(label).toMatchObject({
      participant: "P01",
      videoId: "9",
      fps: 25,
      windowS: 10,
      column: 15,
      frameCount: 750,
    });
    expect(label.hrBpm).toHaveLength(750);
    expect(label.quality.meanHrBpm).toBeGreaterThan(105);
    expect(label.quality.meanHrBpm).toBeLessThan(115);

    const second = (await (
      await queues.add("labels", payload)
    ).waitUntilFinished(events, 30_000)) as LabelsJobResult;
    expect(second.reused).toBe(true);
    expect(second.hash).toBe(first.hash);
    expect(await services.storage.list("labels/")).toEqual(objects);

    const otherWindow = (await (
      await queues.add("labels", { ...payload, options: { windowS: 24 } })
    ).waitUntilFinished(events, 30_000)) as LabelsJobResult;
    expect(otherWindow.reused).toBe(false);
    expect(otherWindow.hash).not.toBe(first.hash);
  });

  it("fails a corrupt file at once with the key and the reason, writing nothing", async () => {
    const job = await queues.add("labels", {
      runId: "run-ecg",
      participant: "P02",
      matKey: "amigos/Data_Preprocessed_P02.mat",
    });
    await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow(
      /amigos\/Data_Preprocessed_P02\.mat is not a readable MAT-file: .*(truncated|inflate)/,
    );
    const failed = await queues.queue("labels").getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(await failed?.isFailed()).toBe(true);
    expect((await services.storage.list("labels/")).filter((o) => o.key.includes("/P02/"))).toEqual([]);
  });
});
