import { FaceAnalysisThreads } from "@hrpipe/face";
import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage } from "@hrpipe/runtime";
import { processFaceJob } from "./processor.ts";

/**
 * Binds the face processor to the `face` queue. Chunks are analysed on worker threads (one per core,
 * each with its nets, started on first use): jobs running at once in this process use as many cores,
 * and the main thread stays free to renew their locks. The segment's features job follows from its
 * links (stageGraph).
 */
export const faceStage = defineStage("face", ({ storage, logger, shared }) => {
  sweepStaleScratchDirsAtStart(logger);
  const analyser = shared("faceAnalysisThreads", () => new FaceAnalysisThreads());
  return async (payload, { logger, progress }) =>
    processFaceJob(payload, {
      storage,
      analyser,
      logger,
      progress: (done, total) => void progress({ frames: done, of: total }),
    });
});
