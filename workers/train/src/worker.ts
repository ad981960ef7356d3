import { backboneLoader } from "@hrpipe/model";
import { defineStage } from "@hrpipe/queue";
import { processTrainJob } from "./processor.ts";

/** Binds the train processor to the `train` queue; the backbone is shared with eval in one process. */
export const trainStage = defineStage("train", ({ storage, config, logger, shared }) => {
  const extractor = shared("backbone", () => backboneLoader(config, logger));
  return (payload, { logger: jobLogger, progress }) =>
    processTrainJob(payload, {
      storage,
      extractor,
      logger: jobLogger,
      progress: (stage, done, total) => void progress({ stage, done, total }),
    });
});
