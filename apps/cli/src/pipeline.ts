import { type HrpipeConfig, loadConfig } from "@hrpipe/contracts";
import { openRedis, openStorage, type Redis, StageQueues, type Storage } from "@hrpipe/runtime";
import { UserError } from "./output.ts";

/** What a command that talks to a running pipeline needs: its queues and its storage. */
export interface PipelineClient {
  config: HrpipeConfig;
  connection: Redis;
  queues: StageQueues;
  storage: Storage;
}

/** Opens the storage of STORAGE_URL (no Redis needed), runs `use`, and closes it. */
export async function withStorage<T>(use: (storage: Storage) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const storage = openStorage(config.storageUrl, config);
  try {
    return await use(storage);
  } finally {
    await storage.close();
  }
}

/** Connects to the pipeline of REDIS_URL and STORAGE_URL, runs `use`, and closes everything. */
export async function withPipeline<T>(use: (pipeline: PipelineClient) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (!config.redisUrl)
    throw new UserError("REDIS_URL is not set; point it at the Redis server your workers use.");
  const connection = await openRedis(config.redisUrl, "producer");
  const queues = new StageQueues({ connection, prefix: config.queuePrefix });
  const storage = openStorage(config.storageUrl, config);
  try {
    return await use({ config, connection, queues, storage });
  } finally {
    await queues.close();
    await storage.close();
    connection.disconnect();
  }
}
