import { decodeFeaturesShard, encodeFacesShard, featuresResultSchema, jobIds } from "@hrpipe/contracts";
import type { StageQueues } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { startWorkerProcess, type WorkerProcess, waitUntil } from "../harness/processes.ts";

/** Random face crops: what the backbone sees does not matter here, only how long it takes. */
function facesShard(frames: number, cropSize = 128) {
  const images = new Uint8Array(frames * cropSize * cropSize * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return encodeFacesShard(
    {
      images,
      cropSize,
      frameIndex: Int32Array.from({ length: frames }, (_, i) => i),
      timeS: Float32Array.from({ length: frames }, (_, i) => i / 25),
      box: new Float32Array(frames * 4),
    },
    { participant: "P01", videoId: "4", segment: 0, detector: "tiny", detectEvery: 8 },
  );
}

/**
 * A features worker killed in the middle of a job: BullMQ's stalled-job check hands the job to another
 * worker, which computes the shard; nothing half-written is left, and the shard exists once. The
 * lock is 2 s here (checked every second) so that the takeover takes seconds, not the default 30;
 * the control shows that a worker which is not killed keeps its job with that lock for the whole
 * job: the backbone runs on a thread of its own, so the main thread renews the lock on time however
 * long a batch takes on a busy machine.
 */
describe("features worker killed mid-job", () => {
  let services: TestServices;
  let queues: StageQueues;
  const workers: WorkerProcess[] = [];
  const frames = 240;
  const env = () => ({
    ...services.env,
    HRPIPE_LOCK_DURATION_MS: "2000",
    HRPIPE_STALLED_INTERVAL_MS: "1000",
  });

  beforeAll(async () => {
    services = await createTestServices("features-worker");
    queues = services.queues();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop("SIGKILL");
    await queues.close();
    await services.cleanup();
  });

  async function addJob(runId: string, facesKey: string) {
    await services.storage.put(facesKey, facesShard(frames));
    return queues.add(
      "features",
      { runId, participant: "P01", videoId: "4", segment: 0, facesKey, fps: 25 },
      { jobId: jobIds.features(runId, "P01", "4", 0), attempts: 3 },
    );
  }

  const framesDone = async (jobId: string) => {
    const job = await queues.queue("features").getJob(jobId);
    const progress = job?.progress as { frames?: number } | undefined;
    return (progress?.frames ?? 0) > 0 && (progress?.frames ?? 0) < frames;
  };

  it("keeps its job while computing when nobody kills it (the control)", async () => {
    const worker = startWorkerProcess(["features"], env());
    workers.push(worker);
    const job = await addJob("control", "faces/c1/P01/4/0000.safetensors");
    await waitUntil(
      async () => ["completed", "failed"].includes(await job.getState()),
      `features job to finish (worker output: ${worker.output()})`,
      120_000,
    );
    const finished = (await queues.queue("features").getJob(job.id!))!;
    expect(await finished.getState(), `${finished.failedReason} ${worker.output()}`).toBe("completed");
    expect(finished.stalledCounter).toBe(0);
    expect(finished.attemptsMade).toBe(1);
    await worker.stop("SIGKILL");
  }, 180_000);

  it("is retried by another worker, which writes the shard once", async () => {
    const shardKeys = async () => (await services.storage.list("features/")).map(({ key }) => key);
    const before = await shardKeys();
    const first = startWorkerProcess(["features"], env());
    workers.push(first);
    const job = await addJob("killed", "faces/k1/P01/4/0000.safetensors");
    await waitUntil(
      () => framesDone(job.id!),
      `the first worker to embed a batch (${first.output()})`,
      120_000,
      50,
    );
    await first.stop("SIGKILL");
    expect(await shardKeys(), "a killed worker leaves no shard").toEqual(before);

    const second = startWorkerProcess(["features"], env());
    workers.push(second);
    await waitUntil(
      async () => ["completed", "failed"].includes(await job.getState()),
      `the second worker to finish the job (${second.output()})`,
      120_000,
    );
    const finished = (await queues.queue("features").getJob(job.id!))!;
    expect(await finished.getState()).toBe("completed");
    expect(finished.stalledCounter).toBe(1);
    const result = featuresResultSchema.parse(finished.returnvalue);
    expect(result).toMatchObject({ frames, reused: false, executionProvider: "cpu", batchSize: 16 });
    expect((await shardKeys()).sort()).toEqual([...before, result.featuresKey].sort());
    expect(result.featuresKey).toMatch(/^features\/[0-9a-f]{16}\/P01\/4\/0000\.safetensors$/);
    const shard = decodeFeaturesShard(await services.storage.get(result.featuresKey), result.featuresKey);
    expect(shard.frameIndex.length).toBe(frames);
    expect(shard.featureDim).toBe(2208);
  }, 300_000);
});
