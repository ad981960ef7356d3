import { spawn } from "node:child_process";
import path from "node:path";
import { stageGraph } from "@hrpipe/contracts";
import { createRedisConnection, type Redis, type StageQueues } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitUntil } from "../harness/processes.ts";

const fixture = path.join(import.meta.dirname, "fixtures", "blocking-train-worker.ts");
const blockMs = 4_000;

/**
 * A CPU-bound stage blocks its event loop, so BullMQ cannot renew the job's lock. Two worker
 * processes serve the train queue and look for stalled jobs every second: with the stage's declared
 * lock duration the job runs once; with the lock shortened below the blocking time (the old
 * behaviour, lock = stalled interval) the other process takes it over and it runs again.
 */
describe("a processor that blocks the event loop longer than the stalled interval", () => {
  let services: TestServices;
  let queues: StageQueues;
  let redis: Redis;

  beforeAll(async () => {
    services = await createTestServices("worker-lock");
    queues = services.queues();
    redis = createRedisConnection(services.redisUrl, "producer");
  });

  afterAll(async () => {
    await queues.close();
    redis.disconnect();
    await services.cleanup();
  });

  async function runOnce(runId: string, extraEnv: Record<string, string>) {
    const env = {
      ...process.env,
      ...services.env,
      HRPIPE_STALLED_INTERVAL_MS: "1000",
      BLOCK_MS: String(blockMs),
      ...extraEnv,
    };
    const children = [0, 1].map(() =>
      spawn(process.execPath, ["--import", "tsx", fixture], { env, stdio: ["ignore", "ignore", "pipe"] }),
    );
    try {
      // Both processes are up once each has a worker registered on the queue.
      await waitUntil(
        async () => (await queues.queue("train").getWorkers()).length >= 2,
        "two train workers",
        30_000,
      );
      const job = await queues.add("train", { runId, protocol: "unseen-videos" }, { attempts: 1 });
      await waitUntil(
        async () => ["completed", "failed"].includes(await job.getState()),
        `train job ${job.id} to finish`,
        60_000,
      );
      // Give a stalled-job check time to run after the block, as it would in production.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const finished = await queues.queue("train").getJob(job.id!);
      return {
        invocations: Number(await redis.get(`${services.queuePrefix}:invocations:${runId}`)),
        state: await finished!.getState(),
        stalledCounter: finished!.stalledCounter,
      };
    } finally {
      for (const child of children) child.kill("SIGKILL");
    }
  }

  it("runs the job exactly once with the train stage's declared lock duration", async () => {
    expect(stageGraph.train.defaults.lockDurationMs).toBeGreaterThanOrEqual(10 * 60_000);
    const outcome = await runOnce("declared", {});
    expect(outcome).toEqual({ invocations: 1, state: "completed", stalledCounter: 0 });
  }, 90_000);

  it("runs it again elsewhere when the lock is shorter than the block (the control)", async () => {
    const outcome = await runOnce("short-lock", { HRPIPE_LOCK_DURATION_MS: "1000" });
    expect(outcome.invocations).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
