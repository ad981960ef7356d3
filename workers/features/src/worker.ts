import { backboneLoader } from "@hrpipe/model";
import { defineStage, type StageServices } from "@hrpipe/runtime";
import { processFeaturesJob } from "./processor.ts";

const backbone = ({ shared, config, logger }: StageServices) =>
  shared("backbone", () => backboneLoader(config, logger));

/**
 * Binds the features processor to the `features` queue. The backbone runs on a thread of its own
 * (BackboneThread), built when the worker starts and before it takes a job; the execution provider is
 * chosen then, as `hrpipe doctor` reports it (CUDA where its provider is installed, else CPU), and
 * every result names it and the batch size.
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
