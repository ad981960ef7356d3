import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { jobIds, parsePayload, runOptionsOf } from "@hrpipe/contracts";
import {
  createRedisConnection,
  FileStorage,
  runProgress,
  type StageQueues,
  writeManifest,
} from "@hrpipe/runtime";
import { Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";

/**
 * `hrpipe status RUN` counts a run's jobs from its ingest job's dependencies, which come in pages.
 * With more finished than pending jobs or the other way round, one kind's scan ends before another's;
 * each job must still be counted once (a finished scan must not start over from its beginning).
 */
describe("runProgress across dependency pages", () => {
  let services: TestServices;
  let queues: StageQueues;
  let dir: string;

  beforeAll(async () => {
    services = await createTestServices("run-progress");
    queues = services.queues();
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-progress-"));
  });

  afterAll(async () => {
    await queues.close();
    await services.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it("counts 25 finished and 40 waiting children exactly with pages of 7", async () => {
    const runId = "paged";
    const storage = new FileStorage(dir);
    const ingest = await queues.queue("ingest").add("ingest", { runId }, { jobId: jobIds.ingest(runId) });
    const parent = { id: ingest.id!, queue: ingest.queueQualifiedName };
    const faces = Array.from({ length: 65 }, (_, i) => ({
      name: "face",
      data: {},
      opts: { jobId: jobIds.face(runId, "P01", "4", i), parent },
    }));
    await queues.queue("face").addBulk(faces);
    // The first 25 finish (BullMQ's manual processing), 10 of them finding their shards written.
    const worker = new Worker("face", null, {
      connection: createRedisConnection(services.redisUrl, "worker"),
      prefix: services.queuePrefix,
    });
    for (let i = 0; i < 25; i++) {
      const job = (await worker.getNextJob("token"))!;
      await job.moveToCompleted({ reused: i < 10 }, "token", false);
    }
    await worker.close();
    await writeManifest(storage, {
      version: 1,
      runId,
      createdAt: new Date().toISOString(),
      state: "planned",
      storageUrl: storage.url,
      datasetPrefix: "",
      options: runOptionsOf(parsePayload("ingest", { runId, datasetPrefix: "" })),
      participants: [],
      videos: [],
    });
    for (const pageSize of [7, 5_000]) {
      const progress = await runProgress(queues, storage, runId, pageSize);
      expect(progress.stages.face, `pages of ${pageSize}`).toEqual({
        done: 25,
        computed: 15,
        reused: 10,
        failed: 0,
        pending: 40,
      });
    }
  });
});
