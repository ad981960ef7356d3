import { addresses } from "./addresses.ts";
import { readArtifact } from "./artifact-io.ts";
import { trialLabelsSchema } from "./documents.ts";
import { artifactKeys } from "./keys.ts";
import type { LabelledVideo } from "./manifest.ts";
import { decodeFacesShard, decodeFeaturesShard, encodeFeaturesShard } from "./shards.ts";
import type { Storage } from "./storage/index.ts";

/** What computes features for face crops (packages/model's FeatureExtractor is one). */
export interface Embedder {
  provenance: { weightsHash: string; kind: string };
  featureDim: number;
  embed(images: Uint8Array, dims: { count: number; height: number; width: number }): Promise<Float32Array>;
}

/** Frames of some videos with a face crop and an ECG label, joined, with their CNN features. */
export interface FrameSet {
  participant: string[];
  videoId: string[];
  frameIndex: number[];
  /** The ECG label of each frame, bpm. */
  hrBpm: Float32Array;
  /** DenseNet features, [frames, featureDim]. */
  features: Float32Array;
  featureDim: number;
  /** Feature shards read from the cache, and computed (then cached). */
  cachedShards: number;
  computedShards: number;
  /** Face crops without a label (null in the label file, or past its end). */
  unlabelled: number;
}

/**
 * Features of every crop of a faces shard, cached in storage under the backbone's weights hash, so a
 * second run, the other protocol and evaluation reuse them.
 */
export function featuresKeyOf(
  weightsHash: string,
  video: { participant: string; videoId: string },
  segment: { segment: number; facesKey: string },
): string {
  return artifactKeys.features(
    addresses.features({ facesKey: segment.facesKey, weightsHash }),
    video.participant,
    video.videoId,
    segment.segment,
  );
}

export async function shardFeatures(
  storage: Storage,
  extractor: Embedder,
  video: { participant: string; videoId: string },
  segment: { segment: number; facesKey: string },
): Promise<{ features: Float32Array; frameIndex: Int32Array; cached: boolean }> {
  const key = featuresKeyOf(extractor.provenance.weightsHash, video, segment);
  if (await storage.exists(key)) {
    const shard = decodeFeaturesShard(await storage.get(key), key);
    return { features: shard.features, frameIndex: shard.frameIndex, cached: true };
  }
  const faces = decodeFacesShard(await storage.get(segment.facesKey), segment.facesKey);
  const count = faces.frameIndex.length;
  const size = faces.cropSize;
  const features =
    count > 0
      ? await extractor.embed(faces.images, { count, height: size, width: size })
      : new Float32Array(0);
  await storage.put(
    key,
    encodeFeaturesShard(
      { features, featureDim: extractor.featureDim, frameIndex: faces.frameIndex },
      {
        weightsHash: extractor.provenance.weightsHash,
        weights: extractor.provenance.kind,
        facesKey: segment.facesKey,
      },
    ),
  );
  return { features, frameIndex: faces.frameIndex, cached: false };
}

/** Joins the face crops of `videos` with their per-frame ECG labels; crops without a label are dropped. */
export async function loadFrameSet(
  storage: Storage,
  extractor: Embedder,
  videos: LabelledVideo[],
  onShard?: (done: number, total: number) => void,
): Promise<FrameSet> {
  const set: FrameSet = {
    participant: [],
    videoId: [],
    frameIndex: [],
    hrBpm: new Float32Array(0),
    features: new Float32Array(0),
    featureDim: extractor.featureDim,
    cachedShards: 0,
    computedShards: 0,
    unlabelled: 0,
  };
  const labels: number[] = [];
  const rows: Float32Array[] = [];
  const totalShards = videos.reduce((sum, v) => sum + v.segments.length, 0);
  let shardsDone = 0;
  for (const video of videos) {
    const videoLabels = await readArtifact(storage, video.labelsKey, trialLabelsSchema);
    for (const segment of video.segments) {
      const shard = await shardFeatures(storage, extractor, video, segment);
      if (shard.cached) set.cachedShards++;
      else set.computedShards++;
      shard.frameIndex.forEach((frame, row) => {
        // Labels are computed at the ECG stage's fps; map the video frame to the label frame by time.
        const hr = videoLabels.hrBpm[Math.round((frame / video.fps) * videoLabels.fps)];
        if (hr === null || hr === undefined) {
          set.unlabelled++;
          return;
        }
        set.participant.push(video.participant);
        set.videoId.push(video.videoId);
        set.frameIndex.push(frame);
        labels.push(hr);
        rows.push(shard.features.subarray(row * extractor.featureDim, (row + 1) * extractor.featureDim));
      });
      onShard?.(++shardsDone, totalShards);
    }
  }
  set.hrBpm = Float32Array.from(labels);
  set.features = new Float32Array(rows.length * extractor.featureDim);
  for (const [i, row] of rows.entries()) set.features.set(row, i * extractor.featureDim);
  return set;
}
