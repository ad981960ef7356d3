import { FaceDetector } from "@hrpipe/face";
import { sweepStaleScratchDirs } from "@hrpipe/media";
import { defineStage } from "@hrpipe/queue";
import { processFaceJob } from "./processor.ts";

/** Binds the face processor to the `face` queue; one detector per kind and size, loaded on first use. */
export const faceStage = defineStage("face", ({ storage, logger }) => {
  void sweepStaleScratchDirs().then((removed) => {
    if (removed.length > 0) logger.info({ removed }, "removed scratch folders of workers that no longer run");
  });
  const detectors = new Map<string, Promise<FaceDetector>>();
  const detectorFor = (kind: "tiny" | "ssd", inputSize: number) => {
    const key = `${kind}-${inputSize}`;
    let detector = detectors.get(key);
    if (!detector) {
      detector = FaceDetector.create({ kind, inputSize });
      detectors.set(key, detector);
    }
    return detector;
  };
  return async (payload, { logger, progress }) =>
    processFaceJob(payload, {
      storage,
      detector: await detectorFor(payload.options.detector, payload.options.inputSize),
      logger,
      progress: (done, total) => void progress({ frames: done, of: total }),
    });
});
