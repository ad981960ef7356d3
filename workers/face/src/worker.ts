import type { StageRuntimeDefaults } from "@hrpipe/contracts";
import { FaceAnalysisThreads } from "@hrpipe/face";
import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage, type StageServices } from "@hrpipe/runtime";
import { processFaceJob } from "./processor.ts";

/** One analysis thread per job this process runs at once (the stage's concurrency). */
const analysisThreads = ({ shared }: StageServices, { concurrency }: StageRuntimeDefaults) =>
  shared("faceAnalysisThreads", () => new FaceAnalysisThreads(concurrency));

/**
 * Binds the face processor to the `face` queue. Chunks are analysed on worker threads, one per job
 * running at once, each with its own nets: jobs running together use as many cores, and the main
 * thread stays free to renew their locks. The threads start with the worker (loading their modules
 * while the first chunks are cut); the segment's features job follows from its links (stageGraph).
 */
export const faceStage = defineStage(
  "face",
  (services, settings) => {
    sweepStaleScratchDirsAtStart(services.logger);
    const analyser = analysisThreads(services, settings);
    return async (payload, { logger, progress }) =>
      processFaceJob(payload, {
        storage: services.storage,
        analyser,
        logger,
        progress: (done, total) => void progress({ frames: done, of: total }),
      });
  },
  async (services, settings) => analysisThreads(services, settings).start(),
);
