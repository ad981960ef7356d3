import { artifactKeys, type DecodedVideo, jobIds, type Payload } from "@hrpipe/contracts";
import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { defineStage, type ParentOptions, type StageQueues } from "@hrpipe/runtime";
import { processDecodeJob } from "./processor.ts";

/**
 * The jobs a decoded video leads to, under the run (`parent`), which waits for them: its ecg job
 * where it has its own reference (on the clock decode measured), a face job per chunk, and a features
 * job per segment whose faces an earlier run wrote (where the CNN uses the video). Ids derive from the
 * segment, so a retried decode job adds nothing twice; each stage's jobs go in one bulk round trip.
 */
export async function addDecodedVideoJobs(
  queues: StageQueues,
  payload: Payload<"decode">,
  result: DecodedVideo,
  parent: ParentOptions,
): Promise<void> {
  const video = { runId: payload.runId, participant: payload.participant, videoId: payload.videoId };
  const under = parent ? { parent, ignoreDependencyOnFailure: true } : {};
  if (payload.reference) {
    await queues.add(
      "ecg",
      {
        ...video,
        reference: payload.reference,
        video: { fps: result.fps, frameCount: result.frameCount },
        options: payload.labels,
      },
      { jobId: jobIds.ecg(payload.runId, payload.participant, payload.videoId), ...under },
    );
  }
  await queues.addBulk(
    "face",
    result.chunks.map((chunk) => ({
      payload: {
        ...video,
        facesHash: result.facesHash,
        segment: chunk.segment,
        chunkKey: chunk.chunkKey,
        chunkSha256: chunk.chunkSha256,
        firstFrame: chunk.firstFrame,
        frameCount: chunk.frameCount,
        fps: result.fps,
        width: result.width,
        height: result.height,
        options: payload.face,
        ...(payload.features ? { features: payload.features } : {}),
      },
      options: {
        jobId: jobIds.face(payload.runId, payload.participant, payload.videoId, chunk.segment),
        ...under,
      },
    })),
  );
  const features = payload.features;
  if (features)
    await queues.addBulk(
      "features",
      result.done.map((segment) => ({
        payload: {
          ...video,
          segment,
          facesKey: artifactKeys.faces(result.facesHash, payload.participant, payload.videoId, segment),
          fps: result.fps,
          options: features,
        },
        options: {
          jobId: jobIds.features(payload.runId, payload.participant, payload.videoId, segment),
          ...under,
        },
      })),
    );
}

/** Binds the decode processor to the `decode` queue; the video's jobs follow (addDecodedVideoJobs). */
export const decodeStage = defineStage("decode", ({ storage, queues, logger: processLogger }) => {
  sweepStaleScratchDirsAtStart(processLogger);
  return async (payload, { job, logger }) => {
    const decoded = await processDecodeJob(payload, { storage, logger });
    await addDecodedVideoJobs(queues, payload, decoded, job.opts.parent);
    const { chunks: _inFaceJobs, ...result } = decoded;
    return result;
  };
});
