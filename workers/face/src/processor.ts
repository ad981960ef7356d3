import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeFrames } from "@hrpipe/media";
import {
  artifactKeys,
  BadInputError,
  encodeSafetensors,
  type FaceJobResult,
  type FaceOptions,
  type Logger,
  type Storage,
  tensor,
} from "@hrpipe/queue";
import { analyseFaces, type Detector, type FaceAnalysis, type FrameWindow } from "./analyse.ts";

/** Bumped whenever the shard layout or the face method changes. */
export const faceFormatVersion = 1;

export interface FaceShardContext {
  participant: string;
  videoId: string;
  segment: number;
  detector: string;
  detectEvery: number;
}

/** The faces shard of the design: images u8 [N,S,S,3], frameIndex i32 [N], timeS f32 [N], box f32 [N,4]. */
export function encodeFacesShard(
  analysis: FaceAnalysis,
  cropSize: number,
  context: FaceShardContext,
): Buffer {
  const n = analysis.frameIndex.length;
  return encodeSafetensors(
    {
      images: tensor("U8", [n, cropSize, cropSize, 3], analysis.images),
      frameIndex: tensor("I32", [n], analysis.frameIndex),
      timeS: tensor("F32", [n], analysis.timeS),
      box: tensor("F32", [n, 4], analysis.box),
    },
    metadataOf(context),
  );
}

/** The traces shard: rgb f32 [F,3] mean skin colour (NaN without a face), timeS f32 [F], faceFound u8 [F]. */
export function encodeTracesShard(analysis: FaceAnalysis, context: FaceShardContext): Buffer {
  const frames = analysis.faceFound.length;
  return encodeSafetensors(
    {
      rgb: tensor("F32", [frames, 3], analysis.rgb),
      timeS: tensor("F32", [frames], analysis.traceTimeS),
      faceFound: tensor("U8", [frames], analysis.faceFound),
    },
    metadataOf(context),
  );
}

function metadataOf(context: FaceShardContext): Record<string, string> {
  return {
    format: "hrpipe-faces",
    formatVersion: String(faceFormatVersion),
    participant: context.participant,
    videoId: context.videoId,
    segment: String(context.segment),
    detector: context.detector,
    detectEvery: String(context.detectEvery),
  };
}

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
  detector: Detector;
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
    return { ...identity, facesKey, tracesKey, frames: input.frameCount, facesFound: -1, skipped: true };
  }
  const chunk = await storage.get(input.chunkKey);
  const digest = createHash("sha256").update(chunk).digest("hex");
  if (digest !== input.chunkSha256) {
    // A damaged transfer or a half-replaced object: transient, so the job is retried.
    throw new Error(
      `${input.chunkKey} has SHA-256 ${digest.slice(0, 12)}..., expected ${input.chunkSha256.slice(0, 12)}...; retrying.`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-face-"));
  try {
    const file = path.join(dir, "chunk.mkv");
    await writeFile(file, chunk);
    const frames = decodeFrames(file, input, input);
    const analysis = await analyseFaces(
      reportProgress(frames, input.frameCount, context.progress),
      input,
      context.detector,
      {
        detectEvery: input.options.detectEvery,
        cropSize: input.options.cropSize,
      },
    );
    const facesFound = analysis.frameIndex.length;
    const lastFrame = input.firstFrame + input.frameCount - 1;
    if (facesFound === 0) {
      await removeChunk();
      throw new BadInputError(
        `${input.participant}/${input.videoId}: no face in frames ${input.firstFrame}-${lastFrame} (segment ${input.segment}); the segment is excluded.`,
      );
    }
    const shardContext = {
      participant: input.participant,
      videoId: input.videoId,
      segment: input.segment,
      detector: input.options.detector,
      detectEvery: input.options.detectEvery,
    };
    await storage.put(tracesKey, encodeTracesShard(analysis, shardContext));
    await storage.put(facesKey, encodeFacesShard(analysis, input.options.cropSize, shardContext));
    await removeChunk();
    context.logger?.info(
      { segment: input.segment, frames: input.frameCount, facesFound, detectorCalls: analysis.detectorCalls },
      "faces written",
    );
    return { ...identity, facesKey, tracesKey, frames: input.frameCount, facesFound, skipped: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function* reportProgress<T>(
  items: AsyncIterable<T>,
  total: number,
  progress?: (done: number, total: number) => void,
) {
  let done = 0;
  for await (const item of items) {
    yield item;
    done++;
    if (progress && (done % 25 === 0 || done === total)) progress(done, total);
  }
}
