import { InvalidPayloadError } from "@hrpipe/contracts";
import {
  createRedisConnection,
  createStageWorker,
  openRedis,
  readRedisServerInfo,
  resolveWorkerSettings,
  StageQueues,
} from "@hrpipe/runtime";
import { QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";

describe("typed queues through the harness's Redis", () => {
  let services: TestServices;
  beforeAll(async () => {
    services = await createTestServices("queues");
  });
  afterAll(() => services.cleanup());

  it("runs with noeviction, as BullMQ requires", async () => {
    const connection = await openRedis(services.redisUrl, "producer");
    expect((await readRedisServerInfo(connection)).maxmemoryPolicy).toBe("noeviction");
    connection.disconnect();
  });

  it("adds a validated job, a worker processes it, and its result is read back", async () => {
    const producer = createRedisConnection(services.redisUrl, "producer");
    const workerConnection = createRedisConnection(services.redisUrl, "worker");
    const queues = new StageQueues({ connection: producer, prefix: services.queuePrefix });
    const seen: unknown[] = [];
    const worker = createStageWorker(
      "labels",
      async (payload) => {
        seen.push(payload);
        return { labelled: payload.participant, windowS: payload.options.windowS };
      },
      {
        ...resolveWorkerSettings("labels", services.config),
        connection: workerConnection,
        prefix: services.queuePrefix,
        logger: services.logger,
      },
    );
    const events = new QueueEvents("labels", {
      connection: createRedisConnection(services.redisUrl, "worker"),
      prefix: services.queuePrefix,
    });
    await events.waitUntilReady();
    const job = await queues.add("labels", {
      runId: "run1",
      participant: "P07",
      matKey: "data/Data_Preprocessed_P07.mat",
    });
    const result = await job.waitUntilFinished(events, 20_000);
    expect(result).toEqual({ labelled: "P07", windowS: 10 });
    expect(seen).toEqual([
      {
        runId: "run1",
        participant: "P07",
        matKey: "data/Data_Preprocessed_P07.mat",
        options: { column: 15, fps: 25, windowS: 10, offsetS: 0 },
      },
    ]);
    await worker.close();
    await events.close();
    await queues.close();
    producer.disconnect();
    workerConnection.disconnect();
  });

  it("rejects an invalid payload at add time, naming the field, and enqueues nothing", async () => {
    const producer = createRedisConnection(services.redisUrl, "producer");
    const queues = new StageQueues({ connection: producer, prefix: services.queuePrefix });
    await expect(
      queues.add("decode", { runId: "run1", participant: "P01", videoId: "4", videoKey: "" } as never),
    ).rejects.toThrow(InvalidPayloadError);
    await expect(
      queues.add("face", { runId: "run1", participant: "P.1", videoId: "4" } as never),
    ).rejects.toThrow(/face job payload is invalid: participant: must be 1-64 letters, digits, '-' or '_'/);
    expect(await queues.queue("decode").count()).toBe(0);
    expect(await queues.queue("face").count()).toBe(0);
    await queues.close();
    producer.disconnect();
  });
});

describe("openRedis", () => {
  it("fails in one sentence naming the URL when nothing listens", async () => {
    await expect(openRedis("redis://127.0.0.1:1", "producer", 2_000)).rejects.toThrow(
      /^Redis at redis:\/\/127\.0\.0\.1:1 did not answer .*start redis-server or point REDIS_URL/,
    );
  });
});
