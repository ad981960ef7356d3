import { FaceDetector } from "@hrpipe/model";
import { createStageWorker, type StageWorkerOptions, type Storage } from "@hrpipe/queue";
import { processFaceJob } from "./processor.ts";

/** Binds the face processor to the `face` queue; one detector per kind and size, loaded on first use. */
export function createFaceWorker(storage: Storage, options: StageWorkerOptions) {
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
  return createStageWorker(
    "face",
    async (payload, { logger, progress }) =>
      processFaceJob(payload, {
        storage,
        detector: await detectorFor(payload.options.detector, payload.options.inputSize),
        logger,
        progress: (done, total) => void progress({ frames: done, of: total }),
      }),
    options,
  );
}
