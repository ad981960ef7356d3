import { defineStage } from "@hrpipe/runtime";
import { processIngestJob } from "./processor.ts";

/** Binds the ingest processor to the `ingest` queue; its links (stageGraph) plan and gather the run. */
export const ingestStage = defineStage(
  "ingest",
  ({ storage }) =>
    (payload, { children, logger }) =>
      processIngestJob(payload, { storage, children, logger }),
);
