import { backboneLoader } from "@hrpipe/model";
import { defineStage } from "@hrpipe/queue";
import { processEvalJob } from "./processor.ts";

/** Binds the eval processor to the `eval` queue; the backbone is shared with train in one process. */
export const evalStage = defineStage("eval", ({ storage, config, logger, shared }) => {
  const extractor = shared("backbone", () => backboneLoader(config, logger));
  return (payload, { logger: jobLogger }) =>
    processEvalJob(payload, { storage, extractor, logger: jobLogger });
});
