import type { FeatureExtractor } from "@hrpipe/model";
import { createStageWorker, type StageWorkerOptions, type Storage } from "@hrpipe/queue";
import { processEvalJob } from "./processor.ts";

/** Binds the eval processor to the `eval` queue. */
export function createEvalWorker(
  storage: Storage,
  extractor: () => Promise<FeatureExtractor>,
  options: StageWorkerOptions,
) {
  return createStageWorker(
    "eval",
    (payload, { logger }) => processEvalJob(payload, { storage, extractor, logger }),
    {
      ...options,
      lockDurationMs: options.lockDurationMs ?? 120_000,
    },
  );
}
