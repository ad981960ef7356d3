import {
  artifactKeys,
  decodeSafetensors,
  encodeSafetensors,
  getJson,
  getTensor,
  type Storage,
  tensor,
  type VideoArtifacts,
} from "@hrpipe/queue";
import type { FeatureExtractor } from "./feature-extractor.ts";

/** What the label artifact of a video holds that training and evaluation read. */
interface VideoLabels {
  fps: number;
  hrBpm: (number | null)[];
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
export async function shardFeatures(
  storage: Storage,
  extractor: FeatureExtractor,
  video: { participant: string; videoId: string },
  segment: { segment: number; facesKey: string },
): Promise<{ features: Float32Array; frameIndex: Int32Array; cached: boolean }> {
  const key = artifactKeys.features(
    extractor.provenance.weightsHash,
    video.participant,
    video.videoId,
    segment.segment,
  );
  if (await storage.exists(key)) {
    const file = decodeSafetensors(await storage.get(key), key);
    return {
      features: getTensor(file, "features", "F32", 2).data,
      frameIndex: getTensor(file, "frameIndex", "I32", 1).data,
      cached: true,
    };
  }
  const faces = decodeSafetensors(await storage.get(segment.facesKey), segment.facesKey);
  const images = getTensor(faces, "images", "U8", 4);
  const frameIndex = getTensor(faces, "frameIndex", "I32", 1).data;
  const [count, height, width] = images.shape as [number, number, number];
  const features =
    count > 0 ? await extractor.embed(images.data, { count, height, width }) : new Float32Array(0);
  await storage.put(
    key,
    encodeSafetensors(
      {
        features: tensor("F32", [count, extractor.featureDim], features),
        frameIndex: tensor("I32", [count], frameIndex),
      },
      {
        weightsHash: extractor.provenance.weightsHash,
        weights: extractor.provenance.kind,
        facesKey: segment.facesKey,
      },
    ),
  );
  return { features, frameIndex, cached: false };
}

/** Joins the face crops of `videos` with their per-frame ECG labels; crops without a label are dropped. */
export async function loadFrameSet(
  storage: Storage,
  extractor: FeatureExtractor,
  videos: VideoArtifacts[],
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
    const videoLabels = await getJson<VideoLabels>(storage, video.labelsKey);
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
