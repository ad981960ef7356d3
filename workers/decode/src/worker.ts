import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage } from "@hrpipe/runtime";
import { processDecodeJob } from "./processor.ts";

/**
 * Binds the decode processor to the `decode` queue; the video's face jobs (and its ecg and reused
 * segments' features jobs) follow from its links (stageGraph).
 */
export const decodeStage = defineStage("decode", ({ storage, logger: processLogger }) => {
  sweepStaleScratchDirsAtStart(processLogger);
  return (payload, { logger }) => processDecodeJob(payload, { storage, logger });
});
