import { sweepStaleScratchDirsAtStart } from "@hrpipe/media";
import { artifactKeys, defineStage, jobIds } from "@hrpipe/queue";
import { processDecodeJob } from "./processor.ts";

/**
 * Binds the decode processor to the `decode` queue. Each chunk becomes a face job whose id is derived
 * from its segment, so a retried decode job never enqueues a segment twice; a segment whose faces an
 * earlier run wrote goes straight to its features job (where the CNN uses the video); a video with its
 * own reference gets its ecg job here, on the clock decode measured. All join the decode job's own
 * parent (the run), which waits for them.
 */
export const decodeStage = defineStage("decode", ({ storage, queues, logger: processLogger }) => {
  sweepStaleScratchDirsAtStart(processLogger);
  return async (payload, { job, logger }) => {
    const result = await processDecodeJob(payload, { storage, logger });
    const parent = job.opts.parent ? { parent: job.opts.parent, ignoreDependencyOnFailure: true } : {};
    if (payload.reference) {
      await queues.add(
        "ecg",
        {
          runId: payload.runId,
          participant: payload.participant,
          videoId: payload.videoId,
          reference: payload.reference,
          video: { fps: result.fps, frameCount: result.frameCount },
          options: payload.labels,
        },
        { jobId: jobIds.ecg(payload.runId, payload.participant, payload.videoId), ...parent },
      );
    }
    for (const chunk of result.chunks) {
      await queues.add(
        "face",
        {
          runId: payload.runId,
          participant: payload.participant,
          videoId: payload.videoId,
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
        {
          jobId: jobIds.face(payload.runId, payload.participant, payload.videoId, chunk.segment),
          ...parent,
        },
      );
    }
    if (payload.features) {
      for (const segment of result.done) {
        await queues.add(
          "features",
          {
            runId: payload.runId,
            participant: payload.participant,
            videoId: payload.videoId,
            segment,
            facesKey: artifactKeys.faces(result.facesHash, payload.participant, payload.videoId, segment),
            fps: result.fps,
            options: payload.features,
          },
          { jobId: jobIds.features(payload.runId, payload.participant, payload.videoId, segment), ...parent },
        );
      }
    }
    return result;
  };
});
