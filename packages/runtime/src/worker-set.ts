import {
  ConfigError,
  type HrpipeConfig,
  loadConfig,
  redactUrl,
  type StageName,
  type StageOutputs,
  type StageRuntimeDefaults,
  stageGraph,
} from "@hrpipe/contracts";
import type { Telemetry, Worker } from "bullmq";
import { linkedProcessor } from "./links.ts";
import { createLogger, type Logger } from "./logger.ts";
import { PipelineMetrics } from "./metrics.ts";
import { MetricsServer, redisNotReadyReason } from "./metrics-server.ts";
import { createStageWorker, type StageProcessor, StageQueues } from "./queues.ts";
import { createRedisConnection, openRedis, type Redis, warnUnlessNoEviction } from "./redis.ts";
import { openStorage, type Storage } from "./storage/index.ts";
import { startTracing } from "./tracing.ts";

/**
 * What a stage's processor may use; `shared` hands every stage of a process the same instance, which the
 * worker set closes when it closes, where the instance has a close().
 */
export interface StageServices {
  config: HrpipeConfig;
  logger: Logger;
  storage: Storage;
  /** The stages' queues, for a stage that reads other jobs (the report stage retires a run's). */
  queues: StageQueues;
  shared<T>(name: string, make: () => T): T;
}

/**
 * A stage folder's binding: how to build its processor from the process's services and the stage's
 * worker settings (its concurrency: how many jobs this process runs at once).
 */
export interface StageBinding<S extends StageName = StageName> {
  stage: S;
  /** Its output's links (stageGraph) say which jobs follow; the worker set adds them. */
  processor(services: StageServices, settings: StageRuntimeDefaults): StageProcessor<S, StageOutputs[S]>;
  /**
   * Work done before the stage's worker takes its first job, such as loading a model whose
   * synchronous build would otherwise block the event loop while a job's lock needs renewing.
   */
  prepare?(services: StageServices, settings: StageRuntimeDefaults): Promise<unknown>;
}

export function defineStage<S extends StageName>(
  stage: S,
  processor: StageBinding<S>["processor"],
  prepare?: StageBinding<S>["prepare"],
): StageBinding<S> {
  return prepare ? { stage, processor, prepare } : { stage, processor };
}

/**
 * The connection a worker process adds jobs on (ingest adds ecg and decode jobs, decode adds face
 * jobs). Unlike a command's producer, it waits for a reconnecting Redis instead of failing the job's
 * attempt with "Stream isn't writeable" right after a restart: a worker is long-lived and can wait.
 */
export function workerProducerConnection(redisUrl: string): Redis {
  // The worker role's settings: commands wait (offline queue, no retry limit) until Redis is back.
  return createRedisConnection(redisUrl, "worker");
}

/** Per-stage settings given on the command line; they win over HRPIPE_* variables and stage defaults. */
export type StageFlags = Partial<Record<StageName, Partial<StageRuntimeDefaults>>>;

/** A stage's worker settings: its declared defaults, then HRPIPE_* variables, then flags. */
export function resolveWorkerSettings(
  stage: StageName,
  config: HrpipeConfig,
  flags: StageFlags = {},
): StageRuntimeDefaults {
  const defined = <T extends object>(value: T) =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
  return { ...stageGraph[stage].defaults, ...defined(config.worker), ...defined(flags[stage] ?? {}) };
}

export interface WorkerSet {
  workers: Worker[];
  /** Counts of this process's jobs and of its stages' queues. */
  metrics: PipelineMetrics;
  /** Why the workers cannot take jobs now (Redis away), or undefined when they can. */
  notReadyReason(): Promise<string | undefined>;
  /** Stops taking jobs, waits for running ones (or not, with force), and closes every connection. */
  close(force?: boolean): Promise<void>;
}

export interface WorkerSetOptions {
  config: HrpipeConfig;
  logger: Logger;
  storage: Storage;
  flags?: StageFlags;
  /** OpenTelemetry spans for every job taken and added (see tracing.ts). */
  telemetry?: Telemetry;
}

/**
 * The one composition root: BullMQ workers for the given stage bindings in this process, each with
 * its stage's declared defaults overridden by HRPIPE_* variables and flags. `hrpipe worker`,
 * `hrpipe demo`, `hrpipe run` and each stage's own entry point start workers only through this.
 */
export function startStageWorkers(bindings: StageBinding[], options: WorkerSetOptions): WorkerSet {
  const { config, logger, storage } = options;
  if (!config.redisUrl)
    throw new ConfigError("REDIS_URL is not set; point it at the Redis server the pipeline shares.");
  const redisUrl = config.redisUrl;
  const connections: Redis[] = [];
  const queues = new StageQueues({
    connection: track(workerProducerConnection(redisUrl)),
    prefix: config.queuePrefix,
    telemetry: options.telemetry,
  });
  function track(connection: Redis): Redis {
    connections.push(connection);
    return connection;
  }
  const sharedInstances = new Map<string, unknown>();
  const services: StageServices = {
    config,
    logger,
    storage,
    queues,
    shared<T>(name: string, make: () => T): T {
      if (!sharedInstances.has(name)) sharedInstances.set(name, make());
      return sharedInstances.get(name) as T;
    },
  };
  const metrics = new PipelineMetrics({ queues, stages: bindings.map((binding) => binding.stage) });
  const preparing: Promise<void>[] = [];
  const workers = bindings.map((binding) => {
    const settings = resolveWorkerSettings(binding.stage, config, options.flags);
    const processor = linkedProcessor(binding.stage, binding.processor(services, settings), queues);
    const worker = createStageWorker(binding.stage, processor, {
      ...settings,
      connection: track(createRedisConnection(redisUrl, "worker")),
      prefix: config.queuePrefix,
      logger,
      telemetry: options.telemetry,
      autorun: binding.prepare === undefined,
    });
    if (binding.prepare) {
      // A failed preparation is logged; the worker still runs, and its first job fails with the
      // same error, which the run reports against the job.
      preparing.push(
        binding
          .prepare(services, settings)
          .catch((error: Error) => logger.error({ stage: binding.stage, err: error }, error.message))
          .then(() => {
            if (!worker.closing)
              void worker.run().catch((error: Error) => logger.error({ err: error }, error.message));
          }),
      );
    }
    metrics.observe(binding.stage, worker);
    worker.on("failed", (job, error) =>
      logger.warn(
        { stage: binding.stage, jobId: job?.id, attempts: job?.attemptsMade, err: error },
        error.message,
      ),
    );
    worker.on("error", (error) => logger.error({ stage: binding.stage, err: error }, error.message));
    return worker;
  });
  const producer = connections[0]!;
  return {
    workers,
    metrics,
    notReadyReason: () => redisNotReadyReason(producer),
    async close(force = false) {
      await Promise.all(workers.map((worker) => worker.close(force)));
      // A stage's shared resources (the backbone's thread) end only once built: a process that
      // exits while a thread is loading its native runtime can be aborted by it.
      await Promise.all(preparing);
      for (const instance of sharedInstances.values())
        if (typeof (instance as { close?: unknown }).close === "function")
          await (instance as { close(): Promise<void> }).close();
      await queues.close();
      for (const connection of connections) connection.disconnect();
    },
  };
}

export interface WorkerProcessOptions {
  flags?: StageFlags;
  env?: NodeJS.ProcessEnv;
  /** Resolves to stop the process's workers; by default SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
}

function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

/**
 * The lifecycle of a worker process: configuration, a check that Redis answers and will not evict
 * jobs, the workers, then a clean drain on SIGTERM or SIGINT (running jobs finish, no new ones start,
 * connections close). Resolves once drained; the entry point decides how the process ends.
 */
export async function runWorkerProcess(
  name: string,
  bindings: StageBinding[],
  options: WorkerProcessOptions = {},
): Promise<void> {
  const config = loadConfig(options.env);
  const logger = createLogger({ level: config.logLevel });
  if (!config.redisUrl)
    throw new ConfigError("REDIS_URL is not set; point it at the Redis server the pipeline shares.");
  const stop = options.stopSignal ?? firstSignal();
  const probe = await openRedis(config.redisUrl, "producer");
  await warnUnlessNoEviction(probe, logger);
  probe.disconnect();
  const storage = openStorage(config.storageUrl, config);
  const tracing = await startTracing(config.tracing);
  const set = startStageWorkers(bindings, {
    config,
    logger,
    storage,
    flags: options.flags,
    telemetry: tracing?.telemetry,
  });
  logger.info(
    {
      redis: redactUrl(config.redisUrl),
      storage: storage.url,
      prefix: config.queuePrefix,
      tracing: config.tracing.endpoint ? redactUrl(config.tracing.endpoint) : "off",
      stages: bindings.map((binding) => ({
        stage: binding.stage,
        ...resolveWorkerSettings(binding.stage, config, options.flags),
      })),
    },
    `${name} ready`,
  );
  let draining = false;
  const server = config.metricsPort
    ? new MetricsServer({
        metrics: set.metrics,
        port: config.metricsPort,
        notReadyReason: async () => (draining ? "draining: finishing running jobs" : set.notReadyReason()),
      })
    : undefined;
  if (server) logger.info({ port: await server.start() }, `${name} serves /metrics and /healthz`);
  const signal = await stop;
  draining = true;
  logger.info({ signal }, `${name} draining: finishing running jobs, taking no new ones`);
  await set.close();
  await server?.close();
  await tracing?.shutdown();
  await storage.close();
  logger.info(`${name} stopped`);
}
