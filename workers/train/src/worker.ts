import { defineStage } from "@hrpipe/runtime";
import { processTrainJob } from "./processor.ts";

/** Binds the train processor to the `train` queue; it reads the features stage's shards, no backbone. */
export const trainStage = defineStage("train", ({ storage }) => {
  return (payload, { logger: jobLogger, progress }) =>
    processTrainJob(payload, {
      storage,
      logger: jobLogger,
      progress: (stage, done, total) => void progress({ stage, done, total }),
    });
});
