import { defineStage } from "@hrpipe/runtime";
import { processLabelsJob } from "./processor.ts";

/** Binds the labels processor to the `labels` queue: references (ECG, PPG, HR, RR) to per-frame heart-rate labels. */
export const labelsStage = defineStage(
  "labels",
  ({ storage }) =>
    (payload, { logger }) =>
      processLabelsJob(payload, { storage, logger }),
);
