import { rm, writeFile } from "node:fs/promises";
import type { Worker } from "bullmq";
import { ConfigError, type HrpipeConfig, loadConfig } from "./config.ts";
import { createLogger, type Logger } from "./logger.ts";
import type { StageWorkerOptions } from "./queues.ts";
import { createRedisConnection, openRedis, redactUrl, warnUnlessNoEviction } from "./redis.ts";
import { openStorage, type Storage } from "./storage/index.ts";

export interface WorkerProcessDeps {
  config: HrpipeConfig;
  logger: Logger;
  storage: Storage;
  /** Options for createStageWorker: the worker connection, the queue prefix, the logger. */
  workerOptions: StageWorkerOptions;
}

export interface WorkerProcessOptions {
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The lifecycle of a worker process: configuration, connections, the workers, and a clean drain on
 * SIGTERM or SIGINT (running jobs finish, no new ones start, connections close, exit 0).
 */
export async function runWorkerProcess(
  name: string,
  start: (deps: WorkerProcessDeps) => Worker[],
  options: WorkerProcessOptions = {},
): Promise<void> {
  const config = loadConfig(options.env);
  const logger = createLogger({ level: config.logLevel });
  if (!config.redisUrl)
    throw new ConfigError("REDIS_URL is not set; point it at the Redis server the pipeline shares.");
  const probe = await openRedis(config.redisUrl, "producer");
  await warnUnlessNoEviction(probe, logger);
  probe.disconnect();
  const connection = createRedisConnection(config.redisUrl, "worker");
  const storage = openStorage(config.storageUrl, config);
  const workers = start({
    config,
    logger,
    storage,
    workerOptions: {
      connection,
      prefix: config.queuePrefix,
      logger,
      concurrency: options.concurrency ?? config.concurrency,
    },
  });
  for (const worker of workers) {
    worker.on("failed", (job, error) =>
      logger.warn({ stage: worker.name, jobId: job?.id, attempts: job?.attemptsMade }, error.message),
    );
    worker.on("error", (error) => logger.error({ stage: worker.name }, error.message));
  }
  logger.info(
    {
      redis: redactUrl(config.redisUrl),
      storage: storage.url,
      prefix: config.queuePrefix,
      stages: workers.map((w) => w.name),
    },
    `${name} ready`,
  );

  if (config.readyFile) await writeFile(config.readyFile, `${process.pid}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} draining: finishing running jobs, taking no new ones`);
    if (config.readyFile) await rm(config.readyFile, { force: true });
    await Promise.all(workers.map((worker) => worker.close()));
    await storage.close();
    connection.disconnect();
    logger.info(`${name} stopped`);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}
