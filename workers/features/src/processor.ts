import {
  addresses,
  artifactKeys,
  decodeFacesShard,
  encodeFeaturesShard,
  type FeaturesJobResult,
  type FeaturesOptions,
  weightsProvenanceSchema,
} from "@hrpipe/contracts";
import type { Embedder } from "@hrpipe/model";
import { type Logger, type Storage, writeArtifact } from "@hrpipe/runtime";

export interface FeaturesJobInput {
  participant: string;
  videoId: string;
  segment: number;
  facesKey: string;
  /** The video's frame rate. */
  fps: number;
  options: FeaturesOptions;
}

export interface FeaturesJobContext {
  storage: Storage;
  /** The backbone, built once per process. */
  extractor: Omit<Embedder, "close">;
  logger?: Logger;
  progress?: (done: number, total: number) => void;
}

/**
 * The rows of a faces shard that `targetFps` keeps: the first face frame of each 1/targetFps interval
 * of video time, counted from the video's first frame, so segments cut anywhere select the same frames.
 * null keeps every row.
 */
export function rowsAtRate(frameIndex: Int32Array, videoFps: number, targetFps: number | null): number[] {
  const rows: number[] = [];
  let lastBucket = Number.NEGATIVE_INFINITY;
  frameIndex.forEach((frame, row) => {
    if (targetFps === null || targetFps >= videoFps) {
      rows.push(row);
      return;
    }
    const bucket = Math.floor((frame / videoFps) * targetFps + 1e-9);
    if (bucket > lastBucket) {
      rows.push(row);
      lastBucket = bucket;
    }
  });
  return rows;
}

/** The crops of `rows`, packed; all of them as they are when every row is kept. */
function selectImages(images: Uint8Array, cropSize: number, rows: number[], count: number): Uint8Array {
  if (rows.length === count) return images;
  const imageBytes = cropSize * cropSize * 3;
  const out = new Uint8Array(rows.length * imageBytes);
  for (const [i, row] of rows.entries())
    out.set(images.subarray(row * imageBytes, (row + 1) * imageBytes), i * imageBytes);
  return out;
}

/** Where a segment's features live: its faces shard's address, the backbone's weights and the options. */
export function featuresKeyFor(input: FeaturesJobInput, weightsHash: string): string {
  return artifactKeys.features(
    addresses.features({ facesKey: input.facesKey, weightsHash, options: input.options }),
    input.participant,
    input.videoId,
    input.segment,
  );
}

/**
 * Embeds the face crops of one segment with the DenseNet backbone and writes them as a features shard
 * under a content address of the crops, the weights and the options. The shard is written in one put
 * after every batch has run, so a worker killed mid-job leaves nothing behind and the retry elsewhere
 * writes it once; a shard that exists is reused without reading the crops.
 */
export async function processFeaturesJob(
  input: FeaturesJobInput,
  context: FeaturesJobContext,
): Promise<FeaturesJobResult> {
  const { storage, extractor } = context;
  const featuresKey = featuresKeyFor(input, extractor.provenance.weightsHash);
  const result = {
    participant: input.participant,
    videoId: input.videoId,
    segment: input.segment,
    featuresKey,
    weightsHash: extractor.provenance.weightsHash,
    executionProvider: extractor.executionProvider,
    batchSize: extractor.batchSize,
  };
  const backboneKey = artifactKeys.backbone(extractor.provenance.weightsHash);
  if (!(await storage.exists(backboneKey)))
    await writeArtifact(storage, backboneKey, weightsProvenanceSchema, extractor.provenance);
  if (await storage.exists(featuresKey)) return { ...result, frames: -1, reused: true };

  const faces = decodeFacesShard(await storage.get(input.facesKey), input.facesKey);
  const rows = rowsAtRate(faces.frameIndex, input.fps, input.options.fps);
  const images = selectImages(faces.images, faces.cropSize, rows, faces.frameIndex.length);
  const started = performance.now();
  const features =
    rows.length > 0
      ? await extractor.embed(
          images,
          { count: rows.length, height: faces.cropSize, width: faces.cropSize },
          context.progress,
        )
      : new Float32Array(0);
  await storage.put(
    featuresKey,
    encodeFeaturesShard(
      {
        features,
        featureDim: extractor.featureDim,
        frameIndex: Int32Array.from(rows, (row) => faces.frameIndex[row]!),
      },
      input.options.dtype,
      {
        weightsHash: extractor.provenance.weightsHash,
        weights: extractor.provenance.kind,
        facesKey: input.facesKey,
      },
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  context.logger?.info(
    {
      segment: input.segment,
      frames: rows.length,
      of: faces.frameIndex.length,
      framesPerS: Number((rows.length / Math.max(seconds, 1e-6)).toFixed(1)),
      executionProvider: extractor.executionProvider,
    },
    "features written",
  );
  return { ...result, frames: rows.length, reused: false };
}
