import { backboneLoader } from "@hrpipe/model";
import {
  createRedisConnection,
  type HrpipeConfig,
  type Logger,
  type Redis,
  type StageName,
  StageQueues,
  type Storage,
  stageNames,
} from "@hrpipe/queue";
import { createDecodeWorker } from "@hrpipe/worker-decode";
import { createEcgWorker } from "@hrpipe/worker-ecg";
import { createEvalWorker } from "@hrpipe/worker-eval";
import { createFaceWorker } from "@hrpipe/worker-face";
import { createIngestWorker } from "@hrpipe/worker-ingest";
import { createTrainWorker } from "@hrpipe/worker-train";
import type { Worker } from "bullmq";
import { UserError } from "./output.ts";

export interface WorkerSetDeps {
  config: HrpipeConfig;
  logger: Logger;
  storage: Storage;
  /** Per stage; stages not named run one job at a time. */
  concurrency: Partial<Record<StageName, number>>;
}

/** Parses `hrpipe worker` stage names; `all` is every stage. */
export function parseStages(names: string[]): StageName[] {
  if (names.includes("all")) return [...stageNames];
  const unknown = names.filter((name) => !stageNames.includes(name as StageName));
  if (unknown.length > 0)
    throw new UserError(`unknown stage ${unknown.join(", ")}; choose from ${stageNames.join(", ")} or all.`);
  return [...new Set(names)] as StageName[];
}

export interface WorkerSet {
  workers: Worker[];
  /** Stops taking jobs, waits for running ones (or not, with force), and closes every connection. */
  close(force?: boolean): Promise<void>;
}

/** BullMQ workers for the given stages in this process, sharing one DenseNet backbone. */
export function createWorkerSet(stages: StageName[], deps: WorkerSetDeps): WorkerSet {
  const { config, logger, storage } = deps;
  const redisUrl = config.redisUrl!;
  const connections: Redis[] = [];
  const connection = (role: "producer" | "worker") => {
    const made = createRedisConnection(redisUrl, role);
    connections.push(made);
    return made;
  };
  const queues = new StageQueues({ connection: connection("producer"), prefix: config.queuePrefix });
  const backbone = backboneLoader(config, logger);
  const options = (stage: StageName) => ({
    connection: connection("worker"),
    prefix: config.queuePrefix,
    logger,
    concurrency: deps.concurrency[stage] ?? 1,
    lockDurationMs: config.stalledIntervalMs,
    stalledIntervalMs: config.stalledIntervalMs,
  });
  const factories: Record<StageName, () => Worker> = {
    ingest: () => createIngestWorker(storage, queues, options("ingest")),
    ecg: () => createEcgWorker(storage, options("ecg")),
    decode: () => createDecodeWorker(storage, queues, options("decode")),
    face: () => createFaceWorker(storage, options("face")),
    train: () => createTrainWorker(storage, backbone, options("train")),
    eval: () => createEvalWorker(storage, backbone, options("eval")),
  };
  const workers = stages.map((stage) => factories[stage]());
  return {
    workers,
    async close(force = false) {
      await Promise.all(workers.map((worker) => worker.close(force)));
      await queues.close();
      for (const made of connections) made.disconnect();
    },
  };
}
