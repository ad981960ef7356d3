import { createRedisConnection, runWorkerProcess, StageQueues } from "@hrpipe/queue";
import { createDecodeWorker } from "./worker.ts";

// Entry point of a dedicated decode worker process: `node --import tsx workers/decode/src/main.ts`.
await runWorkerProcess("decode worker", ({ config, storage, workerOptions }) => {
  const queues = new StageQueues({
    connection: createRedisConnection(config.redisUrl!, "producer"),
    prefix: config.queuePrefix,
  });
  return [createDecodeWorker(storage, queues, workerOptions)];
});
