import { randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import type { HrpipeConfig } from "@hrpipe/contracts";
import {
  createLogger,
  createRedisConnection,
  createS3Client,
  type Logger,
  S3Storage,
  StageQueues,
} from "@hrpipe/runtime";
import { inject } from "vitest";

/** What one test works with: its own BullMQ prefix and its own bucket on the harness's servers. */
export interface TestServices {
  redisUrl: string;
  queuePrefix: string;
  bucket: string;
  storage: S3Storage;
  config: HrpipeConfig;
  /** The environment a child process (CLI, worker) needs to reach the same services. */
  env: Record<string, string>;
  logger: Logger;
  /** A producer on this test's queue prefix, as `hrpipe ingest` and `hrpipe status` use one. */
  queues(): StageQueues;
  cleanup(): Promise<void>;
}

export async function createTestServices(name: string): Promise<TestServices> {
  const redisUrl = inject("redisUrl");
  const s3 = inject("s3");
  const suffix = randomBytes(4).toString("hex");
  const safeName = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 30);
  const bucket = `t-${safeName}-${suffix}`.replace(/-+/g, "-");
  const queuePrefix = `t-${safeName}-${suffix}`;
  const config: HrpipeConfig = {
    redisUrl,
    dashboardHosts: [],
    storageUrl: `s3://${bucket}/hrpipe`,
    s3: {
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    },
    queuePrefix,
    worker: {},
    tracing: { serviceName: "hrpipe" },
    logLevel: "warn",
  };
  const client = createS3Client(config.s3);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const storage = new S3Storage(client, { bucket, prefix: "hrpipe" });
  return {
    redisUrl,
    queuePrefix,
    bucket,
    storage,
    config,
    logger: createLogger({ level: process.env.LOG_LEVEL ?? "warn", pretty: false }),
    env: {
      REDIS_URL: redisUrl,
      STORAGE_URL: config.storageUrl,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: "true",
      HRPIPE_QUEUE_PREFIX: queuePrefix,
      LOG_LEVEL: "warn",
    },
    queues: () =>
      new StageQueues({ connection: createRedisConnection(redisUrl, "producer"), prefix: queuePrefix }),
    async cleanup() {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
        if (objects.length > 0)
          await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}
