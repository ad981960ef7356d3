import { createRedisConnection, runWorkerProcess, StageQueues } from "@hrpipe/queue";
import { createIngestWorker } from "./worker.ts";

// Entry point of a dedicated ingest worker process: `node --import tsx workers/ingest/src/main.ts`.
await runWorkerProcess("ingest worker", ({ config, storage, workerOptions }) => {
  const queues = new StageQueues({
    connection: createRedisConnection(config.redisUrl!, "producer"),
    prefix: config.queuePrefix,
  });
  return [createIngestWorker(storage, queues, workerOptions)];
});
