import { createStageWorker, type StageWorkerOptions, type Storage } from "@hrpipe/queue";
import { processEcg } from "./processor.ts";

/** Binds the ECG processor to the `ecg` queue. */
export function createEcgWorker(storage: Storage, options: StageWorkerOptions) {
  return createStageWorker(
    "ecg",
    (payload, { logger }) =>
      processEcg(
        { participant: payload.participant, matKey: payload.matKey, options: payload.options },
        { storage, logger },
      ),
    options,
  );
}
