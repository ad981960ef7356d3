import { jobIds } from "@hrpipe/contracts";
import { createRedisConnection, type StageQueues } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { startWorkerProcess, type WorkerProcess } from "../harness/processes.ts";

describe("two decode worker processes on one queue", () => {
  let services: TestServices;
  let queues: StageQueues;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    services = await createTestServices("decode-workers");
    queues = services.queues();
    await synthDataset(services.storage, {
      participants: 2,
      videos: 2,
      seconds: 12,
      seed: 11,
      width: 256,
      height: 192,
      fps: 25,
      prefix: "d",
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
    await queues.close();
    await services.cleanup();
  });

  it("split a 4-video job set between them with no segment done twice", async () => {
    workers.push(startWorkerProcess(["decode"], services.env), startWorkerProcess(["decode"], services.env));
    const events = new QueueEvents("decode", {
      connection: createRedisConnection(services.redisUrl, "worker"),
      prefix: services.queuePrefix,
    });
    await events.waitUntilReady();
    const jobs = [];
    for (const participant of ["P01", "P02"]) {
      for (const videoId of ["4", "5"]) {
        jobs.push(
          await queues.add(
            "decode",
            {
              runId: "split",
              participant,
              videoId,
              videoKey: `d/faces/${participant}/${participant}_${videoId}_face.mov`,
              options: { segmentS: 3 },
            },
            { jobId: jobIds.decode("split", participant, videoId) },
          ),
        );
      }
    }
    const results = (await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 120_000)))) as {
      segments: unknown[];
      chunkCount: number;
    }[];
    await events.close();
    const finished = await Promise.all(jobs.map((job) => queues.queue("decode").getJob(job.id!)));
    expect(new Set(finished.map((job) => job!.processedBy)).size).toBe(2);
    for (const job of finished) expect(job!.attemptsMade).toBe(1);
    const segments = results.reduce((sum, r) => sum + r.segments.length, 0);
    // Each chunk is named in its face job's payload (decode's result only counts them).
    const chunkKeys = (await queues.queue("face").getWaiting()).map((job) => job.data.chunkKey as string);
    expect(results.reduce((sum, r) => sum + r.chunkCount, 0)).toBe(segments);
    expect(segments).toBe(4 * 4);
    expect(new Set(chunkKeys).size).toBe(segments);
    expect((await services.storage.list("frames/")).length).toBe(segments);
    expect(await queues.queue("face").getWaitingCount()).toBe(segments);
  }, 180_000);
});
