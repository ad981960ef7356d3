import { type FaceJobResult, jobIds, type Payload } from "@hrpipe/contracts";
import { FaceDetector, LandmarkDetector } from "@hrpipe/face";
import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage, type ParentOptions, type StageQueues } from "@hrpipe/runtime";
import { processFaceJob } from "./processor.ts";

/**
 * The features job of a segment whose faces are written, where the CNN uses the video: its id derives
 * from the segment (a retried face job adds it once), under the run, which waits for it.
 */
export async function addFeaturesJob(
  queues: StageQueues,
  payload: Payload<"face">,
  result: FaceJobResult,
  parent: ParentOptions,
): Promise<void> {
  if (!payload.features) return;
  await queues.add(
    "features",
    {
      runId: payload.runId,
      participant: payload.participant,
      videoId: payload.videoId,
      segment: payload.segment,
      facesKey: result.facesKey,
      fps: payload.fps,
      options: payload.features,
    },
    {
      jobId: jobIds.features(payload.runId, payload.participant, payload.videoId, payload.segment),
      ...(parent ? { parent, ignoreDependencyOnFailure: true } : {}),
    },
  );
}

/**
 * Binds the face processor to the `face` queue; one detector per kind and size and the landmark net,
 * each loaded on first use; the segment's features job follows (addFeaturesJob).
 */
export const faceStage = defineStage("face", ({ storage, queues, logger }) => {
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
  return async (payload, { job, logger, progress }) => {
    const result = await processFaceJob(payload, {
      storage,
      detector: await detectorFor(payload.options.detector, payload.options.inputSize),
      ...(payload.options.skinArea === "landmarks" ? { landmarks: await landmarkDetector() } : {}),
      logger,
      progress: (done, total) => void progress({ frames: done, of: total }),
    });
    await addFeaturesJob(queues, payload, result, job.opts.parent);
    return result;
  };
});
