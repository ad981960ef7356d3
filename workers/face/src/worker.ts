import { FaceDetector, LandmarkDetector } from "@hrpipe/face";
import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage } from "@hrpipe/runtime";
import { processFaceJob } from "./processor.ts";

/**
 * Binds the face processor to the `face` queue; one detector per kind and size and the landmark net,
 * each loaded on first use; the segment's features job follows from its links (stageGraph).
 */
export const faceStage = defineStage("face", ({ storage, logger }) => {
  sweepStaleScratchDirsAtStart(logger);
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
  let landmarks: Promise<LandmarkDetector> | undefined;
  const landmarkDetector = () => {
    landmarks ??= LandmarkDetector.create();
    return landmarks;
  };
  return async (payload, { logger, progress }) =>
    processFaceJob(payload, {
      storage,
      ...(payload.options.skinArea === "whole-frame"
        ? {}
        : { detector: await detectorFor(payload.options.detector, payload.options.inputSize) }),
      ...(payload.options.skinArea === "landmarks" ? { landmarks: await landmarkDetector() } : {}),
      logger,
      progress: (done, total) => void progress({ frames: done, of: total }),
    });
});
