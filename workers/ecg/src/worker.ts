import { defineStage } from "@hrpipe/queue";
import { processEcg } from "./processor.ts";

/** Binds the ECG processor to the `ecg` queue. */
export const ecgStage = defineStage(
  "ecg",
  ({ storage }) =>
    (payload, { logger }) =>
      processEcg(
        { participant: payload.participant, matKey: payload.matKey, options: payload.options },
        { storage, logger },
      ),
);
