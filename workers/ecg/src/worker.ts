import { defineStage } from "@hrpipe/runtime";
import { processEcg } from "./processor.ts";

/** Binds the ECG processor to the `ecg` queue. */
export const ecgStage = defineStage(
  "ecg",
  ({ storage }) =>
    (payload, { logger }) =>
      processEcg(payload, { storage, logger }),
);
