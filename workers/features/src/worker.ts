import { backboneLoader } from "@hrpipe/model";
import { defineStage, type StageServices } from "@hrpipe/queue";
import { processFeaturesJob } from "./processor.ts";

const backbone = ({ shared, config, logger }: StageServices) =>
  shared("backbone", () => backboneLoader(config, logger));

/**
 * Binds the features processor to the `features` queue. The backbone is built when the worker starts,
 * before it takes a job: building DenseNet-161 blocks the event loop for seconds, which must not eat
 * into a job's lock. The execution provider is chosen then, as `hrpipe doctor` reports it (CUDA where
 * its provider is installed, else CPU); every result names it and the batch size.
 */
export const featuresStage = defineStage(
  "features",
  (services) => {
    const extractor = backbone(services);
    return async (payload, { logger, progress }) =>
      processFeaturesJob(payload, {
        storage: services.storage,
        extractor: await extractor(),
        logger,
        progress: (done, total) => void progress({ frames: done, of: total }),
      });
  },
  (services) => backbone(services)(),
);
