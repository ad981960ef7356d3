import { createHash } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  artifactKeys,
  encodeFacesShard,
  encodeTracesShard,
  type FaceJobResult,
  type FaceOptions,
  facelessSegmentSchema,
} from "@hrpipe/contracts";
import type { FaceAnalyser, FrameWindow } from "@hrpipe/face";
import { MediaError, scratchDir } from "@hrpipe/media";
import { BadInputError, type Logger, type Storage, writeArtifact } from "@hrpipe/runtime";

export interface FaceJobInput extends FrameWindow {
  participant: string;
  videoId: string;
  facesHash: string;
  segment: number;
  chunkKey: string;
  chunkSha256: string;
  options: FaceOptions;
}

export interface FaceJobContext {
  storage: Storage;
  /** Decodes and analyses the chunk (LocalFaceAnalyser on this thread, FaceAnalysisThreads on others). */
  analyser: FaceAnalyser;
  logger?: Logger;
  progress?: (done: number, total: number) => void;
}

/**
 * One face job: the segment's chunk in, a faces and a traces shard out, the chunk deleted after use.
 * A segment in which no frame shows a face fails as bad input (it is excluded, the run goes on).
 */
export async function processFaceJob(input: FaceJobInput, context: FaceJobContext): Promise<FaceJobResult> {
  const { storage } = context;
  const facesKey = artifactKeys.faces(input.facesHash, input.participant, input.videoId, input.segment);
  const tracesKey = artifactKeys.traces(input.facesHash, input.participant, input.videoId, input.segment);
  const identity = { participant: input.participant, videoId: input.videoId, segment: input.segment };
  const removeChunk = async () => {
    if (!input.options.keepChunks) await storage.delete(input.chunkKey);
  };
  if ((await storage.exists(facesKey)) && (await storage.exists(tracesKey))) {
    await removeChunk();
    return { ...identity, facesKey, tracesKey, frames: input.frameCount, facesFound: -1, reused: true };
  }
  const chunk = await storage.get(input.chunkKey);
  const digest = createHash("sha256").update(chunk).digest("hex");
  if (digest !== input.chunkSha256) {
    // A damaged transfer or a half-replaced object: transient, so the job is retried.
    throw new Error(
      `${input.chunkKey} has SHA-256 ${digest.slice(0, 12)}..., expected ${input.chunkSha256.slice(0, 12)}...; retrying.`,
    );
  }
  const dir = await scratchDir("face");
  try {
    const file = path.join(dir, "chunk.mkv");
    await writeFile(file, chunk);
    const analysis = await context.analyser
      .analyse(
        { file, window: input, options: input.options, decode: { format: "matroska" } },
        context.progress,
      )
      .catch((error: unknown) => {
        // The worker's scratch copy means nothing to a user: name the chunk in storage instead.
        if (error instanceof MediaError) throw new MediaError(error.message.replaceAll(file, input.chunkKey));
        throw error;
      });
    const facesFound = analysis.frameIndex.length;
    const lastFrame = input.firstFrame + input.frameCount - 1;
    if (facesFound === 0) {
      const reason = `${input.participant}/${input.videoId}: no face in frames ${input.firstFrame}-${lastFrame} (segment ${input.segment}); the segment is excluded.`;
      // Deterministic for this content and these options: remembered, so a re-run does not look again.
      await writeArtifact(
        storage,
        artifactKeys.faceless(input.facesHash, input.participant, input.videoId, input.segment),
        facelessSegmentSchema,
        { reason },
      );
      await removeChunk();
      throw new BadInputError(reason);
    }
    const shardContext = {
      participant: input.participant,
      videoId: input.videoId,
      segment: input.segment,
      detector: input.options.detector,
      detectEvery: input.options.detectEvery,
    };
    await storage.put(
      tracesKey,
      encodeTracesShard({ ...analysis, timeS: analysis.traceTimeS }, shardContext),
    );
    await storage.put(
      facesKey,
      encodeFacesShard(
        { ...analysis, cropSize: input.options.crops ? input.options.cropSize : 0 },
        shardContext,
      ),
    );
    await removeChunk();
    context.logger?.info(
      { segment: input.segment, frames: input.frameCount, facesFound, detectorCalls: analysis.detectorCalls },
      "faces written",
    );
    return { ...identity, facesKey, tracesKey, frames: input.frameCount, facesFound, reused: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
