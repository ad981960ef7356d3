import { defineStage } from "@hrpipe/runtime";
import { processEvalJob } from "./processor.ts";

/** Binds the eval processor to the `eval` queue; it reads the features stage's shards, no backbone. */
export const evalStage = defineStage("eval", ({ storage }) => {
  return (payload, { logger: jobLogger }) => processEvalJob(payload, { storage, logger: jobLogger });
});
