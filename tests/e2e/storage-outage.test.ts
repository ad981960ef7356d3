import { rm } from "node:fs/promises";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { createRedisConnection, createS3Client, readManifest, S3Storage, StageQueues } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { startWorkerProcess, type WorkerProcess, waitForRun, waitUntil } from "../harness/processes.ts";
import { s3rverCredentials, startS3rver } from "../harness/services.ts";

/** A run whose S3 server goes away for a few seconds in the middle of the face stage, and comes back. */
describe("storage outage during a run", () => {
  let server: Awaited<ReturnType<typeof startS3rver>>;
  let worker: WorkerProcess;
  let queues: StageQueues;
  let storage: S3Storage;
  const prefix = `t-outage-${process.pid}`;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startS3rver();
    const s3 = {
      endpoint: server.url,
      region: "us-east-1",
      accessKeyId: s3rverCredentials.accessKeyId,
      secretAccessKey: s3rverCredentials.secretAccessKey,
      forcePathStyle: true,
    };
    const client = createS3Client(s3);
    await client.send(new CreateBucketCommand({ Bucket: "outage" }));
    storage = new S3Storage(client, { bucket: "outage", prefix: "hrpipe" });
    env = {
      REDIS_URL: inject("redisUrl"),
      STORAGE_URL: "s3://outage/hrpipe",
      S3_ENDPOINT: server.url,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      HRPIPE_QUEUE_PREFIX: prefix,
      HRPIPE_STALLED_INTERVAL_MS: "5000",
      LOG_LEVEL: "warn",
    };
    queues = new StageQueues({ connection: createRedisConnection(env.REDIS_URL!, "producer"), prefix });
    await synthDataset(storage, {
      participants: 2,
      videos: 2,
      seconds: 12,
      seed: 3,
      width: 256,
      height: 192,
      fps: 25,
      prefix: "data",
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop("SIGKILL");
    await queues.close();
    await server.stop();
    await rm(server.directory, { recursive: true, force: true });
  });

  it("retries through a 4-s outage of the S3 server and completes with nothing excluded", async () => {
    worker = startWorkerProcess(["all"], env);
    const ingest = await runCli(
      ["ingest", "data", "--run-id", "outage1", "--protocols", "unseen-videos", "--segment", "4"],
      env,
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    await waitUntil(
      async () => (await queues.queue("face").getActiveCount()) > 0,
      "the face stage to start",
      120_000,
      100,
    );
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    server = await startS3rver({ port: server.port, directory: server.directory });
    const progress = await waitForRun(queues, storage, "outage1", 240_000).catch((error) => {
      throw new Error(`${error.message}\n${worker.output().slice(-4000)}`);
    });
    const manifest = await readManifest(storage, "outage1");
    expect(manifest.excluded.filter((e) => !/no face/.test(e.reason))).toEqual([]);
    expect(progress.stages.eval).toMatchObject({ done: 1, failed: 0 });
    expect(await storage.exists("runs/outage1/reports/report.json")).toBe(true);
  }, 400_000);
});
