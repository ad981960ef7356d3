import type { FeatureExtractor } from "@hrpipe/model";
import { createStageWorker, type StageWorkerOptions, type Storage } from "@hrpipe/queue";
import { processTrainJob } from "./processor.ts";

/** Binds the train processor to the `train` queue. */
export function createTrainWorker(
  storage: Storage,
  extractor: () => Promise<FeatureExtractor>,
  options: StageWorkerOptions,
) {
  return createStageWorker(
    "train",
    (payload, { logger, progress }) =>
      processTrainJob(payload, {
        storage,
        extractor,
        logger,
        progress: (stage, done, total) => void progress({ stage, done, total }),
      }),
    { ...options, lockDurationMs: options.lockDurationMs ?? 120_000 },
  );
}
